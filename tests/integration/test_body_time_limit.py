"""A request body must keep coming: one that trickles or stalls gets a 408 and its
connection closes; a slow-but-steady upload streamed through to an upstream still works."""

import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.integration.conftest import StartNode
from tests.support.processes import UpstreamProcess, upstream

IDLE_S = 3.0  # the node's limit for one read of a body
TOTAL_S = 8.0  # and for all the reads of one body
ENDS_WITHIN_S = 60.0  # far past both limits: without them, nothing would end
HEAD = (
    b"POST /v1/dnt/_node HTTP/1.1\r\nhost: 127.0.0.1\r\n"
    b"content-type: application/json\r\ncontent-length: 100000\r\n\r\n"
)


@pytest.fixture
def node_url(start_node: StartNode, upstreams: list[UpstreamProcess]) -> str:
    echo = upstream(upstreams, "--name", "echo")
    env = {
        "COMPUTEMESH_BODY_IDLE_TIMEOUT": str(IDLE_S),
        "COMPUTEMESH_BODY_TOTAL_TIMEOUT": str(TOTAL_S),
    }
    return start_node("--standalone", "--service", f"echo={echo.url}", env=env).url


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)))
    sock.sendall(HEAD)
    sock.setblocking(False)
    return sock


def _answers(sockets: list[socket.socket], every: float | None) -> list[bytes]:
    """What each connection got before the node closed it; sends one body byte per
    connection each ``every`` s meanwhile (None: sends nothing more)."""
    got = dict.fromkeys(sockets, b"")
    open_ = set(sockets)
    deadline = time.monotonic() + ENDS_WITHIN_S
    while open_ and time.monotonic() < deadline:
        time.sleep(every or 0.2)
        for sock in list(open_):
            if _closed_after_reading(sock, got) or (every and not _sent_a_byte(sock)):
                open_.discard(sock)
    for sock in sockets:
        sock.close()
    assert not open_, f"{len(open_)} of {len(sockets)} connections still open"
    return [got[sock] for sock in sockets]


def _closed_after_reading(sock: socket.socket, got: dict[socket.socket, bytes]) -> bool:
    try:
        while data := sock.recv(65536):
            got[sock] += data
        return True  # the node closed it
    except BlockingIOError:
        return False
    except ConnectionError:
        return True


def _sent_a_byte(sock: socket.socket) -> bool:
    try:
        return sock.send(b" ") == 1
    except (BlockingIOError, ConnectionError):
        return False


def test_a_trickled_body_gets_a_408_and_is_closed(node_url: str) -> None:
    """A byte every 0.5 s: never idle for 3 s, but 8 s of waits in all."""
    answers = _answers([_connect(node_url) for _ in range(4)], every=0.5)
    for answer in answers:
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert answer.endswith(b'{"error": "the request body did not arrive in time"}')
    assert httpx.post(f"{node_url}/v1/dnt/_node", json={}).status_code == 200


def test_a_stalled_body_gets_a_408_and_is_closed(node_url: str) -> None:
    sock = _connect(node_url)
    sock.send(b'{"service": ')
    [answer] = _answers([sock], every=None)
    assert answer.startswith(b"HTTP/1.1 408")


def _steady(chunks: int, size: int, every: float) -> Iterator[bytes]:
    for _ in range(chunks):
        time.sleep(every)
        yield b"x" * size


def test_a_slow_but_steady_upload_streams_through_to_the_upstream(node_url: str) -> None:
    """Ten chunks 0.3 s apart: each read waits far less than 3 s, all of them less than 8 s."""
    answer = httpx.post(f"{node_url}/v1/_service/echo/echo/upload", content=_steady(10, 1000, 0.3))
    assert answer.status_code == 200
    assert answer.json()["body_bytes"] == 10_000
