"""The node's HTTP port: the h11 server that answers mesh streams, on TCP."""

import json
from typing import Any

import anyio
import pytest
import trio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from computemesh.p2phttp import CANCELS_ON_DISCONNECT, VIA_MESH
from computemesh.p2phttp.drain import BodyTimeouts
from computemesh.p2phttp.listener import accept_forever
from computemesh.p2phttp.tcp import TcpStream
from tests.support.http_server import App, exchange, serving
from tests.support.task_steps import TaskSteps


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
def server_writes(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Each write the server makes to a client's connection."""
    writes: list[bytes] = []
    original = TcpStream.write

    async def counted(self: TcpStream, data: bytes) -> None:
        writes.append(bytes(data))
        await original(self, data)

    monkeypatch.setattr(TcpStream, "write", counted)
    return writes


async def answer_of(app: App, request: bytes = b"GET / HTTP/1.1\r\nhost: x\r\n") -> bytes:
    async with serving(app) as port:
        return await exchange(port, request)


async def test_a_small_response_leaves_in_one_write(server_writes: list[bytes]) -> None:
    answer = await answer_of(small)
    assert answer.startswith(b"HTTP/1.1 200")
    assert answer.endswith(b'{"ok":true}')
    assert server_writes == [answer]


async def test_a_stream_sends_its_head_with_the_first_chunk(server_writes: list[bytes]) -> None:
    answer = await answer_of(streamed)
    assert server_writes[0].startswith(b"HTTP/1.1 200")
    assert server_writes[0].endswith(b"3\r\none\r\n")
    assert server_writes[1:] == [b"3\r\ntwo\r\n", b"5\r\nthree\r\n0\r\n\r\n"]
    assert answer == b"".join(server_writes)


async def test_an_app_that_fails_before_answering_gets_a_500() -> None:
    answer = await answer_of(broken)
    assert answer.startswith(b"HTTP/1.1 500")


async def test_garbage_gets_a_400() -> None:
    async with serving(small) as port:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        await stream.send_all(b"NOT HTTP AT ALL\r\n\r\n")
        assert (await stream.receive_some()).startswith(b"HTTP/1.1 400")
        await stream.aclose()
        assert (await exchange(port)).startswith(b"HTTP/1.1 200")  # the port still serves


async def test_head_gets_the_headers_without_the_body() -> None:
    answer = await answer_of(small, b"HEAD / HTTP/1.1\r\nhost: x\r\n")
    assert answer.startswith(b"HTTP/1.1 200")
    assert b"content-length: 11" in answer
    assert answer.endswith(b"\r\n\r\n")


async def echo(request: Request) -> Response:
    return Response(await request.body())


async def whoami(request: Request) -> Response:
    return JSONResponse(
        {
            "client": list(request.client or ()),
            "via_mesh": request.scope.get(VIA_MESH),
            "cancels": request.scope.get(CANCELS_ON_DISCONNECT),
        }
    )


SMALL_APP = Starlette(routes=[Route("/echo", echo, methods=["POST"]), Route("/whoami", whoami)])


async def test_a_client_that_expects_100_continue_is_told_to_send_its_body() -> None:
    async with serving(SMALL_APP) as port:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        await stream.send_all(
            b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\nexpect: 100-continue\r\n\r\n"
        )
        with trio.fail_after(5):
            assert (await stream.receive_some()).startswith(b"HTTP/1.1 100")
        await stream.send_all(b"hello")
        answer = b""
        while not answer.endswith(b"hello"):
            answer += await stream.receive_some()
        assert answer.startswith(b"HTTP/1.1 200")
        await stream.aclose()


async def test_the_scope_names_the_tcp_client_and_is_not_from_the_mesh() -> None:
    answer = await answer_of(SMALL_APP, b"GET /whoami HTTP/1.1\r\nhost: x\r\n")
    body = answer.partition(b"\r\n\r\n")[2]
    assert b'"client":["127.0.0.1",' in body
    assert b'"via_mesh":null' in body
    assert b'"cancels":true' in body


async def test_pipelined_requests_are_answered_in_order() -> None:
    async with serving(SMALL_APP) as port:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        posts = b"".join(
            b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\n\r\n" + word
            for word in (b"one", b"two")
        )
        await stream.send_all(
            posts + b"GET /whoami HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"
        )
        answer = b""
        while data := await stream.receive_some():
            answer += data
        await stream.aclose()
    assert answer.count(b"HTTP/1.1 200") == 3
    assert answer.index(b"one") < answer.index(b"two") < answer.index(b'"client"')


class Slow:
    """An app that answers after ``delay`` and records whether it was cancelled."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.started = trio.Event()
        self.cancelled = trio.Event()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.started.set()
        try:
            await trio.sleep(self.delay)
        except trio.Cancelled:
            self.cancelled.set()
            raise
        await small(scope, receive, send)


async def test_a_client_that_leaves_cancels_the_app() -> None:
    slow = Slow(delay=60)
    async with serving(slow) as port:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        await stream.send_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        await slow.started.wait()
        await stream.aclose()
        with trio.fail_after(5):
            await slow.cancelled.wait()


async def test_the_keep_alive_limit_does_not_cut_a_long_answer() -> None:
    slow = Slow(delay=0.6)
    async with serving(slow, keep_alive=0.2) as port:
        answer = await exchange(port)
    assert answer.startswith(b"HTTP/1.1 200")
    assert not slow.cancelled.is_set()


async def test_an_idle_kept_alive_connection_is_closed() -> None:
    async with serving(small, keep_alive=0.2) as port:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        await stream.send_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        answer = b""
        with trio.fail_after(5):
            while data := await stream.receive_some():
                answer += data
        assert answer.startswith(b"HTTP/1.1 200")  # then the server closed the idle line
        await stream.aclose()


async def test_stopping_finishes_answers_in_progress_and_closes_idle_connections() -> None:
    slow = Slow(delay=0.3)
    with trio.fail_after(5):
        async with serving(slow, grace=3) as port:
            idle = await trio.open_tcp_stream("127.0.0.1", port)
            busy = await trio.open_tcp_stream("127.0.0.1", port)
            await busy.send_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
            await slow.started.wait()
        # The block waited for the slow answer, and no longer (idle was not awaited).
        assert await idle.receive_some() == b""
        assert (await busy.receive_some()).startswith(b"HTTP/1.1 200")
    with pytest.raises(OSError, match="connect"):
        await trio.open_tcp_stream("127.0.0.1", port)


CHUNKS = 50
REQUESTS = 20


async def many_chunks(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    for _ in range(CHUNKS):
        await send({"type": "http.response.body", "body": b"event", "more_body": True})
    await send({"type": "http.response.body", "body": b""})


async def test_a_streamed_response_takes_few_turns_of_the_scheduler() -> None:
    async with serving(many_chunks) as port:
        steps = TaskSteps()
        trio.lowlevel.add_instrument(steps)
        try:
            received = await exchange(port)
        finally:
            trio.lowlevel.remove_instrument(steps)
    assert received.count(b"event") == CHUNKS
    # Measured: 98-103 task steps, about one write and one read per chunk (Hypercorn,
    # the node's server before, took 107-113 with its locks patched, 177 without).
    assert steps.count < 120, f"{steps.count} task steps for {CHUNKS} chunks"


async def test_requests_on_a_kept_alive_connection_take_few_turns_of_the_scheduler() -> None:
    async with serving(small) as port:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        steps = TaskSteps()
        trio.lowlevel.add_instrument(steps)
        try:
            for _ in range(REQUESTS):
                await stream.send_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
                answer = b""
                while not answer.endswith(b"true}"):
                    answer += await stream.receive_some()
        finally:
            trio.lowlevel.remove_instrument(steps)
        await stream.aclose()
    # Measured: 100 task steps with one reader task for the connection's life; 150-154
    # with a reader task started and cancelled per request; Hypercorn 224-233.
    assert steps.count < 120, f"{steps.count} task steps for {REQUESTS} requests"


class FlakyListener:
    """Fails its first accept as a process out of descriptors would, then accepts."""

    def __init__(self, stream: Any) -> None:
        self.calls = 0
        self.stream = stream

    async def accept(self) -> Any:
        self.calls += 1
        if self.calls == 1:
            raise anyio.BrokenResourceError from OSError(24, "Too many open files")
        if self.calls == 2:
            return self.stream
        await trio.sleep_forever()


async def test_a_failed_accept_is_retried_not_fatal() -> None:
    handled = trio.Event()

    async def handle(stream: Any) -> None:
        assert stream == "connection"
        handled.set()

    listener = FlakyListener("connection")
    with trio.fail_after(5):
        async with anyio.create_task_group() as connections:
            connections.start_soon(accept_forever, listener, handle, connections)
            await handled.wait()
            connections.cancel_scope.cancel()
    assert listener.calls >= 2


async def test_a_malformed_request_quoted_in_the_error_still_gets_valid_json() -> None:
    """h11 quotes the bad request line in its message; the 400's body stays JSON."""
    async with serving(small) as port:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        await stream.send_all(b'NOT "HTTP" AT \\ ALL\r\n\r\n')
        answer = b""
        while data := await stream.receive_some():
            answer += data
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    assert json.loads(body)["error"].startswith("malformed HTTP request: ")


async def reads_the_body(scope: dict[str, Any], receive: Any, send: Any) -> None:
    while (await receive()).get("more_body"):
        pass
    await small(scope, receive, send)


async def answers_then_reads(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"started", "more_body": True})
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.body", "body": b""})


async def answer_to_a_stalled_body(app: App) -> bytes:
    """What a client gets that declares 10 bytes of body, sends 2, then waits."""
    async with serving(app, body=BodyTimeouts(idle=0.2, total=0.4)) as port:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        await stream.send_all(b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\nab")
        answer = b""
        with trio.fail_after(30):
            while data := await stream.receive_some():
                answer += data
        return answer


async def test_a_stalled_body_gets_a_408_and_the_connection_closes() -> None:
    answer = await answer_to_a_stalled_body(reads_the_body)
    assert answer.startswith(b"HTTP/1.1 408")
    body = answer.partition(b"\r\n\r\n")[2]
    assert json.loads(body) == {"error": "the request body did not arrive in time"}


async def test_a_stalled_body_cuts_an_answer_already_begun() -> None:
    answer = await answer_to_a_stalled_body(answers_then_reads)
    assert answer.startswith(b"HTTP/1.1 200")
    assert b"408" not in answer
    assert not answer.endswith(b"0\r\n\r\n")  # cut, not a complete chunked answer
