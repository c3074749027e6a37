"""Hypercorn, as the node runs it, sends a small response in one socket write."""

from typing import Any

import pytest
import trio

from tests.support.hypercorn_app import App, exchange, serving


async def small(scope: dict[str, Any], receive: Any, send: Any) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", b"11")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b'{"ok":true}'})


async def streamed(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    for part in (b"one", b"two"):
        await send({"type": "http.response.body", "body": part, "more_body": True})
    await send({"type": "http.response.body", "body": b"three"})


async def broken(scope: dict[str, Any], receive: Any, send: Any) -> None:
    raise RuntimeError("the app failed before answering")


@pytest.fixture
def server_writes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, bytes]]:
    """Each ``send_all`` by any trio socket stream: (its local port, the data)."""
    writes: list[tuple[int, bytes]] = []
    original = trio.SocketStream.send_all

    async def counted(self: trio.SocketStream, data: Any) -> None:
        writes.append((self.socket.getsockname()[1], bytes(data)))
        await original(self, data)

    monkeypatch.setattr(trio.SocketStream, "send_all", counted)
    return writes


async def answer_and_writes(app: App, writes: list[tuple[int, bytes]]) -> tuple[bytes, list[bytes]]:
    """One exchange with ``app`` served: what the client got, and the server's writes."""
    async with serving(app) as port:
        answer = await exchange(port)
    return answer, [data for local, data in writes if local == port]


async def test_a_small_response_leaves_in_one_write(
    server_writes: list[tuple[int, bytes]],
) -> None:
    answer, sent = await answer_and_writes(small, server_writes)
    assert answer.startswith(b"HTTP/1.1 200")
    assert answer.endswith(b'{"ok":true}')
    assert len(sent) == 1, sent
    assert sent[0] == answer


async def test_a_stream_sends_its_head_with_the_first_chunk(
    server_writes: list[tuple[int, bytes]],
) -> None:
    answer, sent = await answer_and_writes(streamed, server_writes)
    assert sent[0].startswith(b"HTTP/1.1 200")
    assert sent[0].endswith(b"3\r\none\r\n")
    assert sent[1:] == [b"3\r\ntwo\r\n", b"5\r\nthree\r\n", b"0\r\n\r\n"]
    assert answer == b"".join(sent)


async def test_an_app_that_fails_before_answering_still_gets_a_500(
    server_writes: list[tuple[int, bytes]],
) -> None:
    answer, sent = await answer_and_writes(broken, server_writes)
    assert answer.startswith(b"HTTP/1.1 500")
    assert len(sent) == 1
