"""Hypercorn's locks, taken without a yield when they are free.

Hypercorn 0.18 on trio guards each connection's writes with a ``trio.Lock``, and the
idle timer it restarts after every request with another; ``trio.Lock.acquire`` sends
the task through the scheduler even when nobody holds the lock. That is one more turn
of the event loop for every response a node writes and every chunk it relays, and two
for every request. The locks are swapped, as each object is built, for the kind the
node's libp2p layer uses (``p2p.quick_locks``): exclusion kept, the free case direct.
"""

from hypercorn.trio.tcp_server import TCPServer
from hypercorn.trio.worker_context import TrioSingleTask

from computemesh.p2p.quick_locks import use_quick_locks


def quick_hypercorn_locks() -> None:
    """Patch Hypercorn's trio server (once per process)."""
    use_quick_locks(TCPServer, ("send_lock",))
    use_quick_locks(TrioSingleTask, ("_lock",))
