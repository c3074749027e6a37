"""Hypercorn writes a small response to the socket once, not three times.

Hypercorn 0.18 writes a response's head the moment the app starts it, each body
chunk as it comes, and then the end marker, which is empty for a response with a
length, as one more send. On loopback a write is a system call that wakes the
reader; forwarding a short request, 7.7% of an entry node's CPU was in these sends.

This holds the head until the first body message and leaves it in the same write,
and skips empty writes. The ASGI spec asks for exactly this: a server must not start
sending a response before the app's first body message.
"""

from typing import Any

import h11
from hypercorn.events import RawData
from hypercorn.protocol.h11 import H11Protocol

_HELD = "_computemesh_held_head"


def hold_response_heads() -> None:
    """Patch Hypercorn's HTTP/1.1 protocol (once per process)."""
    if getattr(H11Protocol, _HELD, None) is not None:
        return
    setattr(H11Protocol, _HELD, b"")
    H11Protocol._send_h11_event = _send_h11_event  # type: ignore[method-assign]


async def _send_h11_event(self: Any, event: h11.Event) -> None:
    try:
        data: bytes = self.connection.send(event) or b""
    except h11.LocalProtocolError:
        if self.connection.their_state != h11.ERROR:
            raise
        return  # as Hypercorn does: the peer broke the exchange, nothing more goes out
    held: bytes = getattr(self, _HELD)
    if isinstance(event, h11.Response):
        setattr(self, _HELD, held + data)
        return
    setattr(self, _HELD, b"")
    if held or data:
        await self.send(RawData(data=held + data))
