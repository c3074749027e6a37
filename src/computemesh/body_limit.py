"""Bounds the request body an ASGI app reads: the node's and the gateway's surfaces alike.

A body read whole costs its size in memory, and more once parsed: without a bound, one
request could take a process's memory. Starlette's ``RequestBodyLimitMiddleware``
(FastAPI's ``max_body_size``) answers a body declared too large with a plain-text 413
of its own, in place of the surface's JSON error. Here ``receive`` raises the caller's
exception instead, as soon as the body is declared or read past the limit, so the
app's own error handlers answer it, each in its surface's format.
"""

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Message, Receive, Send], Awaitable[None]]
TooLarge = Callable[[int], Exception]  # the exception to raise, given the limit


class BodyLimit:
    """ASGI middleware: ``app`` sees a ``receive`` that refuses bodies over ``limit`` bytes."""

    def __init__(self, app: ASGIApp, limit: int, too_large: TooLarge) -> None:
        self.app = app
        self.limit = limit
        self.too_large = too_large

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            receive = bounded(receive, scope, self.limit, self.too_large)
        await self.app(scope, receive, send)


def bounded(receive: Receive, scope: Message, limit: int, too_large: TooLarge) -> Receive:
    """``receive`` of the request ``scope``, raising ``too_large(limit)`` past ``limit`` bytes."""
    return _Bounded(receive, declared_length(scope), limit, too_large)


def declared_length(scope: Message) -> int | None:
    """The request's ``Content-Length``, or None when it has none (chunked) or a bad one."""
    for name, value in scope["headers"]:
        if name == b"content-length":  # ASGI header names are lower case
            return int(value) if value.isdigit() else None
    return None


class _Bounded:
    __slots__ = ("_declared", "_limit", "_receive", "_seen", "_too_large")

    def __init__(
        self, receive: Receive, declared: int | None, limit: int, too_large: TooLarge
    ) -> None:
        self._receive = receive
        self._declared = declared
        self._limit = limit
        self._too_large = too_large
        self._seen = 0

    async def __call__(self) -> Message:
        if self._declared is not None and self._declared > self._limit:
            raise self._too_large(self._limit)  # refused before any of it is read
        message = await self._receive()
        if message["type"] == "http.request":
            self._seen += len(message.get("body", b""))
            if self._seen > self._limit:
                raise self._too_large(self._limit)
        return message
