"""Under load, with real processes: limits shared by two gateways through Redis, and what a
SIGKILL costs the usage records."""

import asyncio
import signal
import time
from collections.abc import Callable

import httpx
import pytest

from tests.gateway import harness
from tests.gateway.conftest import Wallet, bearer, new_key

StartGateway = Callable[..., harness.Process]
CHAT = {"model": "tiny-chat", "messages": [{"role": "user", "content": "hi"}]}
LIMIT = 50
CONCURRENT = 200
FLUSH_INTERVAL_S = 0.5
# A flush that has started must also finish writing; this bounds that on a loaded CI box.
WRITE_ALLOWANCE_S = 1.0


async def _fire(urls: list[str], key: str, count: int) -> list[int]:
    """``count`` chat requests at once, alternating between the gateways."""
    limits = httpx.Limits(max_connections=CONCURRENT)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        responses = await asyncio.gather(
            *(
                http.post(
                    urls[i % len(urls)] + "/api/v1/chat/completions", json=CHAT, headers=bearer(key)
                )
                for i in range(count)
            )
        )
    return [response.status_code for response in responses]


@pytest.mark.slow
def test_two_gateways_sharing_redis_never_exceed_the_limit(
    start_gateway: StartGateway, upstream: harness.Process, sqlite_url: str, redis_url: str
) -> None:
    limits = {"redis_url": redis_url, "key_rpm": str(LIMIT), "ip_rpm": "0"}
    first = start_gateway([upstream.url], sqlite_url, **limits)
    second = start_gateway([upstream.url], sqlite_url, **limits)
    http = httpx.Client(base_url=first.url, timeout=30)
    key = new_key(http, Wallet().login(http))["key"]
    served_before = httpx.get(upstream.url + "/_stats").json()["inference"]

    statuses = asyncio.run(_fire([first.url, second.url], key, CONCURRENT))

    assert statuses.count(200) == LIMIT
    assert statuses.count(429) == CONCURRENT - LIMIT
    served = httpx.get(upstream.url + "/_stats").json()["inference"] - served_before
    assert served == LIMIT  # nothing refused reached the node


async def _load_until_killed(url: str, gateway: harness.Process) -> tuple[dict[str, float], float]:
    """Keep 16 requests in flight, SIGKILL the gateway mid-stream; answered ids with their times."""
    answered: dict[str, float] = {}
    stop = asyncio.Event()

    async def worker(http: httpx.AsyncClient) -> None:
        while not stop.is_set():
            try:
                response = await http.post(url + "/v1/chat/completions", json=CHAT)
            except httpx.HTTPError:
                return
            if response.status_code == 200:
                answered[response.headers["x-request-id"]] = time.monotonic()

    async with httpx.AsyncClient(timeout=10) as http:
        workers = [asyncio.create_task(worker(http)) for _ in range(16)]
        await asyncio.sleep(3 * FLUSH_INTERVAL_S + 1)
        assert gateway.popen is not None
        gateway.popen.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        stop.set()
        await asyncio.gather(*workers)
    gateway.popen.wait()
    return answered, killed_at


@pytest.mark.slow
def test_sigkill_under_load_loses_only_the_last_flush_interval(
    start_gateway: StartGateway, upstream: harness.Process, sqlite_url: str
) -> None:
    gateway = start_gateway(
        [upstream.url], sqlite_url, usage_flush_interval=str(FLUSH_INTERVAL_S), ip_rpm="0"
    )
    answered, killed_at = asyncio.run(_load_until_killed(gateway.url, gateway))
    stored = harness.stored_usage_ids(sqlite_url)

    old = {
        rid for rid, at in answered.items() if at < killed_at - FLUSH_INTERVAL_S - WRITE_ALLOWANCE_S
    }
    assert len(old) > 50, "the load did not run long enough to test anything"
    assert old <= stored, f"{len(old - stored)} records older than the flush interval were lost"
    # Every stored record is a request the gateway took (none invented, none doubled: ids are keys).
    assert len(stored) <= len(answered) + 16

    # A restart on the same database writes nothing twice.
    again = start_gateway([upstream.url], sqlite_url, ip_rpm="0")
    again.stop()
    assert harness.stored_usage_ids(sqlite_url) == stored
