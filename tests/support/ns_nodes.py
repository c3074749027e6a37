"""Node processes inside network namespaces, and their HTTP API read from inside too.

Each namespace has its own loopback, so every node serves HTTP on 127.0.0.1:8092 of
its namespace; the test reads it with a small Python run in that namespace.
"""

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from computemesh.p2p.identity import load_or_create
from tests.support.netns import Namespace

HTTP = "http://127.0.0.1:8092"
Processes = list["subprocess.Popen[bytes]"]
_FETCH = (
    "import sys, urllib.request\n"
    "try:\n"
    "    print(urllib.request.urlopen(sys.argv[1], timeout=3).read().decode())\n"
    "except Exception:\n"
    "    sys.exit(1)\n"
)


def peer_id_of(data_dir: Path) -> str:
    """The node's peer id, made before it starts (so a test knows its address)."""
    return load_or_create(data_dir, "ed25519").peer_id


def start_node(started: Processes, namespace: Namespace, data_dir: Path, *args: str) -> None:
    command = [
        sys.executable, "-m", "computemesh.cli", "node", "start", "--data-dir", str(data_dir),
        "--http-port", "8092", "--log-level", "INFO", *args,
    ]  # fmt: skip
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir.parent / f"{data_dir.name}.log").open("ab") as log:
        started.append(namespace.popen(command, stdout=log, stderr=log, env={**os.environ}))


def get(namespace: Namespace, path: str) -> Any | None:
    """The JSON at ``path`` of the node in ``namespace``, or None if it does not answer."""
    done = subprocess.run(
        ["ip", "netns", "exec", namespace.name, sys.executable, "-c", _FETCH, HTTP + path],
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout) if done.returncode == 0 else None


def table_ids(namespace: Namespace) -> set[str]:
    """Peer ids in the node's table (every record, online or not)."""
    table = get(namespace, "/v1/dnt/table?all=true")
    return {row["id"] for row in table.values()} if isinstance(table, dict) else set()


def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def wait_healthy(namespaces: list[Namespace], timeout: float = 60.0) -> None:
    for namespace in namespaces:
        if not wait_for(partial(_answers, namespace), timeout):
            raise TimeoutError(f"the node in {namespace.name} did not become healthy")


def _answers(namespace: Namespace) -> bool:
    return get(namespace, "/v1/health") is not None


def stop_all(started: Processes) -> None:
    for process in reversed(started):
        if process.poll() is None:
            process.kill()
        process.wait()
    started.clear()
