"""Hypercorn's per-connection send lock, taken without a yield when it is free.

Hypercorn 0.18 on trio guards each connection's writes with a ``trio.Lock``, whose
``acquire`` sends the task through the scheduler even when nobody holds it: one extra
turn of the event loop for every response a node writes, and for every chunk of a
stream it relays. The lock is swapped, per connection, for the same kind of lock the
node's libp2p layer uses (``p2p.quick_locks``): exclusion kept, the free case direct.
"""

from typing import Any

from hypercorn.trio.tcp_server import TCPServer

from computemesh.p2p.quick_locks import QuickLock

_PATCHED = "_computemesh_quick_send_lock"


def quick_send_locks() -> None:
    """Patch Hypercorn's trio TCP server (once per process)."""
    if getattr(TCPServer, _PATCHED, False):
        return
    setattr(TCPServer, _PATCHED, True)
    server: Any = TCPServer
    original = server.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.send_lock = QuickLock()

    server.__init__ = init
