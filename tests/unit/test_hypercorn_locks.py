"""Hypercorn, as the node runs it, takes its free locks without a trip through trio."""

from typing import Any

import trio

from computemesh.node.hypercorn_locks import quick_hypercorn_locks
from tests.support.hypercorn_app import exchange, serving
from tests.support.task_steps import TaskSteps

CHUNKS = 50
REQUESTS = 20


async def many_chunks(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    for _ in range(CHUNKS):
        await send({"type": "http.response.body", "body": b"event", "more_body": True})
    await send({"type": "http.response.body", "body": b""})


async def test_a_streamed_response_takes_few_turns_of_the_scheduler() -> None:
    quick_hypercorn_locks()
    async with serving(many_chunks) as port:
        steps = TaskSteps()
        trio.lowlevel.add_instrument(steps)
        try:
            received = await exchange(port)
        finally:
            trio.lowlevel.remove_instrument(steps)
    assert received.count(b"event") == CHUNKS
    # Measured: 107-113 task steps with quick locks, 177-178 with trio's.
    assert steps.count < 145, f"{steps.count} task steps for {CHUNKS} chunks"


async def small(scope: dict[str, Any], receive: Any, send: Any) -> None:
    headers = [(b"content-length", b"2")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"ok"})


async def test_requests_on_a_kept_alive_connection_take_few_turns_of_the_scheduler() -> None:
    quick_hypercorn_locks()
    async with serving(small) as port:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        steps = TaskSteps()
        trio.lowlevel.add_instrument(steps)
        try:
            for _ in range(REQUESTS):
                await stream.send_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
                answer = b""
                while not answer.endswith(b"ok"):
                    answer += await stream.receive_some()
        finally:
            trio.lowlevel.remove_instrument(steps)
        await stream.aclose()
    # Measured: 224-233 task steps with quick locks, 264-271 with trio's.
    assert steps.count < 250, f"{steps.count} task steps for {REQUESTS} requests"
