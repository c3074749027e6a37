"""The request id: taken or made at the entry, one header on the answer, carried by forwards."""

import logging

import anyio
import pytest

from computemesh import request_id
from computemesh.logging import JsonFormatter, RequestIdFilter, TextFormatter
from computemesh.routing.headers import with_request_id

Message = dict[str, object]


def answer_of(
    request_headers: list[tuple[bytes, bytes]],
) -> tuple[list[tuple[bytes, bytes]], Message, dict[str, object]]:
    """Run one request through ``RequestIds``; what the app saw and what was sent."""
    seen: dict[str, object] = {}

    async def app(scope: Message, receive: object, send: object) -> None:
        seen["current"], seen["own"] = request_id.current.get(), request_id.own_id()
        seen["forward"] = with_request_id([("content-type", "application/json")])
        # A forwarded answer may bring the provider's copy of the header.
        headers = [(b"x-request-id", b"from-the-provider"), (b"content-type", b"text/plain")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})  # type: ignore[operator]

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Message = {"type": "http", "headers": list(request_headers)}
    anyio.run(request_id.RequestIds(app), scope, None, send)  # type: ignore[arg-type]
    return scope["headers"], sent[0], seen  # type: ignore[return-value]


def test_a_plain_client_id_is_kept_everywhere_but_never_owned() -> None:
    _, start, seen = answer_of([(b"x-request-id", b"client-id-1")])
    assert start["headers"] == [(b"content-type", b"text/plain"), (b"x-request-id", b"client-id-1")]
    assert seen["current"] == "client-id-1"
    assert seen["own"] is None  # a caller's id never keys anything that must be unique
    forward = [("content-type", "application/json"), ("x-request-id", "client-id-1")]
    assert seen["forward"] == forward
    assert request_id.current.get() is None  # reset after the request


@pytest.mark.parametrize("forged", [b"two words", b"line\nbreak", b"x" * 129, b""])
def test_an_id_that_could_split_a_log_line_is_replaced(forged: bytes) -> None:
    headers, start, seen = answer_of([(b"x-request-id", forged)])
    made = seen["current"]
    assert isinstance(made, str)
    assert len(made) == 32
    assert seen["own"] == made
    assert headers == [(b"x-request-id", made.encode())]  # forwards carry the new one
    assert dict(start["headers"])[b"x-request-id"] == made.encode()  # type: ignore[call-overload]


def test_log_lines_name_the_request() -> None:
    record = logging.LogRecord("computemesh.x", logging.INFO, "f", 1, "hello %s", ("you",), None)
    token = request_id.current.set("abc-42")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id.current.reset(token)
    assert TextFormatter().format(record).endswith("hello you [request_id=abc-42]")
    assert '"request_id": "abc-42"' in JsonFormatter().format(record)
    assert with_request_id([]) == []  # outside a request nothing is added
