"""One id per client request, the same at every hop, in every log line about it.

The entry (a node or the gateway) takes the client's ``X-Request-Id`` when it is a
plain token, or makes one; it is written into the request's own headers, so whatever
forwards the request (the mesh routes, the gateway's upstream call) carries it on,
and the answer names it. ``current`` holds it while the request is served: the
logging filter (``computemesh.logging``) adds it to every line.

A caller's id goes into log lines only, never into a metric label, and only when it
is short and has no spaces or control characters (a forged one cannot split a line).
"""

import re
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from contextvars import ContextVar
from typing import Any

HEADER = "x-request-id"
_HEADER = HEADER.encode("ascii")
_PLAIN = re.compile(rb"[A-Za-z0-9._:/+=@-]{1,128}")

current: ContextVar[str | None] = ContextVar("computemesh_request_id", default=None)
_made_here: ContextVar[bool] = ContextVar("computemesh_request_id_made_here", default=False)

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Message, Receive, Send], Awaitable[None]]


def new_id() -> str:
    return uuid.uuid4().hex


def own_id() -> str | None:
    """The current request's id if this process made it (so no caller chose it), else None.

    What must be unique (a usage record's key) uses this, never a caller's id.
    """
    return current.get() if _made_here.get() else None


def accepted(value: bytes) -> str | None:
    """The caller's id if it is a plain token, else None (one is made instead)."""
    return value.decode("ascii") if _PLAIN.fullmatch(value) else None


class RequestIds:
    """ASGI middleware: every HTTP request has an id in its headers, its answer and ``current``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id, made = _own_id(scope)
        header = (_HEADER, request_id.encode("ascii"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                # A forwarded answer may carry the provider's copy: one header, ours.
                kept = [h for h in message.get("headers", ()) if h[0].lower() != _HEADER]
                message["headers"] = [*kept, header]
            await send(message)

        token, made_token = current.set(request_id), _made_here.set(made)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            current.reset(token)
            _made_here.reset(made_token)


def _own_id(scope: Message) -> tuple[str, bool]:
    """The request's id, and whether it was made here: when the caller's is missing or
    unusable, a new one, written into the request's headers."""
    headers = scope["headers"]
    for name, value in headers:
        if name == _HEADER:
            found = accepted(value)
            if found is not None:
                return found, False
    made = new_id()
    scope["headers"] = [h for h in headers if h[0] != _HEADER] + [(_HEADER, made.encode())]
    return made, True
