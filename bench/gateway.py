"""Gateway overhead: the same upstream, straight and through the gateway, side by side.

Starts the test upstream (tests/gateway/upstream.py, an OpenAI-shaped Starlette app) and
one gateway process (SQLite, in-memory limiter with limits set high so they are still
checked, a real API key), then drives both with a small keep-alive HTTP/1.1 client on
uvloop (httpx itself costs more CPU per request than the gateway does). Rounds alternate
direct / gateway so both see the same machine. Prints, for non-streamed chat requests:

- closed loop at concurrency 1 and 50: p50, p99, req/s, and the gateway's added p50/p99;
- open loop at a fixed offered rate (default 500 req/s): latency measured from each
  request's scheduled start, so queueing counts; goal: added p50 <= 2 ms;
- the gateway's CPU per request.

    .venv/bin/python bench/gateway.py --requests 2000 --rate 500
"""

import argparse
import asyncio
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import uvloop
from eth_account import Account
from eth_account.messages import encode_defunct
from rich.console import Console
from rich.table import Table

from computemesh.cli.localmesh import free_port

console = Console()
ROOT = Path(__file__).resolve().parents[1]
GOAL_ADDED_P50_MS = 2.0
COLUMNS = (
    "load", "direct p50/p99 ms", "direct req/s", "gateway p50/p99 ms", "gateway req/s",
    "added p50/p99 ms", "req/s ratio", "gateway CPU ms/req",
)  # fmt: skip
CHAT = {"model": "tiny-chat", "messages": [{"role": "user", "content": "Hello, how are you?"}]}


@dataclass
class Target:
    name: str
    port: int
    path: str
    headers: dict[str, str]

    def request(self) -> bytes:
        body = json.dumps(CHAT).encode()
        head = [f"POST {self.path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
        head += [f"{k}: {v}" for k, v in self.headers.items()]
        head.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(head) + "\r\n\r\n").encode() + body


class Connection:
    """One keep-alive HTTP/1.1 connection that sends a fixed request and reads the answer."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> "Connection":
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def exchange(self, request: bytes) -> int:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        lower = head.lower()
        if b"transfer-encoding: chunked" in lower:
            while size := int((await self.reader.readuntil(b"\r\n")).strip(), 16):
                await self.reader.readexactly(size + 2)
            await self.reader.readuntil(b"\r\n")
        else:
            length = int(lower.split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
            await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        self.writer.close()


async def closed_loop(target: Target, concurrency: int, total: int) -> tuple[list[float], float]:
    request, latencies = target.request(), list[float]()

    async def worker(count: int) -> None:
        connection = await Connection.open(target.port)
        for _ in range(count):
            started = time.perf_counter()
            assert await connection.exchange(request) == 200
            latencies.append(time.perf_counter() - started)
        connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker(total // concurrency) for _ in range(concurrency)))
    return latencies, len(latencies) / (time.perf_counter() - started)


async def open_loop(target: Target, rate: float, total: int) -> tuple[list[float], float]:
    """Requests scheduled every 1/rate s; latency counts from the schedule (no omission)."""
    request, latencies = target.request(), list[float]()
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(64):
        pool.put_nowait(await Connection.open(target.port))
    begin = time.perf_counter() + 0.05

    async def one(index: int) -> None:
        scheduled = begin + index / rate
        await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
        connection = pool.get_nowait() if not pool.empty() else await Connection.open(target.port)
        assert await connection.exchange(request) == 200
        latencies.append(time.perf_counter() - scheduled)
        pool.put_nowait(connection)

    await asyncio.gather(*(one(i) for i in range(total)))
    achieved = total / (time.perf_counter() - begin)
    while not pool.empty():
        pool.get_nowait().close()
    return latencies, achieved


def spawn(
    command: list[str], port: int, health: str, env: dict[str, str], log: Path
) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env={**os.environ, **env}
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}{health}", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"{command[2:5]} did not start: {log.read_text()[-2000:]}")


def api_key(gateway: str) -> str:
    """Log in with a fresh wallet and create a key, as a user would."""
    account = Account.create()
    http = httpx.Client(base_url=gateway, timeout=10)
    message = http.get("/api/auth/nonce", params={"address": account.address}).json()["message"]
    signature = account.sign_message(encode_defunct(text=message)).signature.hex()
    body = {"address": account.address, "signature": "0x" + signature.removeprefix("0x")}
    token = http.post("/api/auth/connect", json=body).json()["token"]
    created = http.post(
        "/api/api-keys", json={"name": "bench"}, headers={"Authorization": f"Bearer {token}"}
    )
    key: str = created.json()["key"]
    return key


def ms(seconds: list[float], q: float) -> float:
    ordered = sorted(seconds)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


Run = Callable[[Target], Awaitable[tuple[list[float], float]]]


async def _call(run: Run, target: Target) -> tuple[list[float], float]:
    return await run(target)


def compare(
    label: str, direct: Target, gateway: Target, run: Run, rounds: int, cpu: psutil.Process
) -> list[str]:
    lat: dict[str, list[float]] = {"direct": [], "gateway": []}
    rates: dict[str, list[float]] = {"direct": [], "gateway": []}
    cpu_s, proxied = 0.0, 0
    for index in range(rounds):
        order = (direct, gateway) if index % 2 == 0 else (gateway, direct)
        for target in order:
            before = sum(cpu.cpu_times()[:2])
            latencies, rate = asyncio.run(_call(run, target))
            if target is gateway:
                cpu_s += sum(cpu.cpu_times()[:2]) - before
                proxied += len(latencies)
            lat[target.name] += latencies
            rates[target.name].append(rate)
    d50, d99 = ms(lat["direct"], 0.5), ms(lat["direct"], 0.99)
    g50, g99 = ms(lat["gateway"], 0.5), ms(lat["gateway"], 0.99)
    return [
        label,
        f"{d50:.2f} / {d99:.2f}",
        f"{statistics.median(rates['direct']):.0f}",
        f"{g50:.2f} / {g99:.2f}",
        f"{statistics.median(rates['gateway']):.0f}",
        f"[bold]{g50 - d50:.2f} / {g99 - d99:.2f}[/bold]",
        f"{statistics.median(rates['gateway']) / statistics.median(rates['direct']):.2f}",
        f"{cpu_s / proxied * 1000:.2f}",
    ]


async def _open(target: Target, rate: float, total: int) -> tuple[list[float], float]:
    return await open_loop(target, rate, total)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="per round and target")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--rates", default="200,500", help="open-loop offered req/s, comma separated"
    )
    args = parser.parse_args()
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as scratch:
        processes: list[subprocess.Popen[bytes]] = []
        try:
            rows = bench(Path(scratch), args, processes)
        finally:
            for process in processes:
                process.kill()
                process.wait()
    table = Table(title=f"gateway vs direct, same upstream ({args.rounds} alternating rounds)")
    console.width = max(console.width, 140)
    for column in COLUMNS:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    console.print(table)
    for rate, row in zip(_rates(args), rows[2:], strict=True):
        added = float(row[5].split("]")[1].split(" ")[0])
        verdict = "meets" if added <= GOAL_ADDED_P50_MS else "misses"
        console.print(
            f"open loop at {rate:.0f} req/s: added p50 {added:.2f} ms, "
            f"{verdict} the {GOAL_ADDED_P50_MS} ms goal"
        )


def _rates(args: argparse.Namespace) -> list[float]:
    return [float(rate) for rate in args.rates.split(",")]


def bench(
    scratch: Path, args: argparse.Namespace, processes: list[subprocess.Popen[bytes]]
) -> list[list[str]]:
    upstream_port, gateway_port = free_port(), free_port()
    python = sys.executable
    processes.append(spawn([python, "-m", "tests.gateway.upstream", "--port", str(upstream_port)],
                           upstream_port, "/v1/models", {}, scratch / "upstream.log"))  # fmt: skip
    env = {
        "SECRET_KEY": "bench-" + os.urandom(24).hex(),
        "OCF_HEAD_URL": f"http://127.0.0.1:{upstream_port}",
        "COMPUTEMESH_GATEWAY_DATABASE_URL": f"sqlite+aiosqlite:///{scratch / 'gateway.db'}",
        # Limits stay on (their cost is part of the figure) but high enough never to refuse.
        "COMPUTEMESH_GATEWAY_KEY_RPM": "100000000",
        "COMPUTEMESH_GATEWAY_KEY_TPM": "100000000000",
        "COMPUTEMESH_GATEWAY_IP_RPM": "100000000",
    }
    gateway_cmd = [python, "-m", "computemesh.cli", "gateway", "start", "--port", str(gateway_port),
                   "--log-level", "WARNING"]  # fmt: skip
    gateway_process = spawn(gateway_cmd, gateway_port, "/health", env, scratch / "gateway.log")
    processes.append(gateway_process)
    key = api_key(f"http://127.0.0.1:{gateway_port}")
    direct = Target("direct", upstream_port, "/v1/chat/completions", {})
    gateway = Target(
        "gateway", gateway_port, "/api/v1/chat/completions", {"Authorization": f"Bearer {key}"}
    )
    cpu = psutil.Process(gateway_process.pid)
    n = args.requests
    asyncio.run(closed_loop(gateway, 10, 500))  # warm up both, then measure
    asyncio.run(closed_loop(direct, 10, 500))
    rows = [
        compare(
            "closed, c=1", direct, gateway, lambda t: closed_loop(t, 1, n // 2), args.rounds, cpu
        ),
        compare("closed, c=50", direct, gateway, lambda t: closed_loop(t, 50, n), args.rounds, cpu),
    ]
    for rate in _rates(args):
        run = functools.partial(_open, rate=rate, total=n)
        rows.append(compare(f"open, {rate:.0f} req/s", direct, gateway, run, args.rounds, cpu))
    return rows


if __name__ == "__main__":
    main()
