"""Cost: every lock on py-libp2p's per-frame path yields to trio's scheduler, even when free.

``trio.Lock.acquire`` is always a schedule point: a free lock is taken and then the task
goes through the scheduler (one more turn of the event loop, an ``epoll_wait`` among it)
before it continues. py-libp2p takes such a lock at nearly every layer of every frame:
the TCP stream's read and write locks, the stream's state lock, yamux's stream table
and write locks, a stream's writer lock and its window lock. Relaying one small
message cost about six of these turns at each end, none of which waited for anything.

The locks on that path are replaced, as each object is built, by :class:`QuickLock`:
the same mutual exclusion, handed over in arrival order like trio's, but a free lock
is taken without yielding. Yielding still happens wherever a task actually waits.
"""

from collections.abc import Callable
from typing import Any

import trio
from libp2p.io.trio import TrioTCPStream
from libp2p.network.stream.net_stream import NetStream
from libp2p.stream_muxer.yamux.yamux import Yamux, YamuxStream

from computemesh.p2p.patch_registry import Target, declare

_LOCKS_BY_CLASS: tuple[tuple[type, tuple[str, ...]], ...] = (
    (TrioTCPStream, ("read_lock", "write_lock")),
    (NetStream, ("_state_lock",)),
    # A yamux stream's writer takes and releases its write lock in one task.
    (YamuxStream, ("window_lock", "rw_lock._writer_lock")),
    (Yamux, ("streams_lock", "_write_lock")),
)
QUICK_LOCKS_PATCH = declare(
    "quick_locks",
    Target(
        "libp2p.io.trio",
        "TrioTCPStream.__init__",
        "4222fa993846189e94274705f1aa866df0eae8b1b91998d7b237043f1e1d134c",
    ),
    Target(
        "libp2p.network.stream.net_stream",
        "NetStream.__init__",
        "c1bafd9d5782acb4d70b2711b3e71af646ab79a1bb3e83cf83def49bd1b1ec07",
    ),
    Target(
        "libp2p.stream_muxer.yamux.yamux",
        "YamuxStream.__init__",
        "ab24c0709285d573f546dc1100b25ed0b8162e72df750004c0c103729256449b",
    ),
    Target(
        "libp2p.stream_muxer.yamux.yamux",
        "Yamux.__init__",
        "3b11a2a71ca444ca7b621d7deac2caa2254260af54e2cac958ce275cafbeb691",
    ),
)


_PATCHED = "_computemesh_quick_locks"


class QuickLock:
    """A lock for trio tasks whose uncontended ``acquire`` does not yield."""

    __slots__ = ("_lot", "_owner")

    def __init__(self) -> None:
        self._owner: trio.lowlevel.Task | None = None
        self._lot = trio.lowlevel.ParkingLot()

    def locked(self) -> bool:
        return self._owner is not None

    async def acquire(self) -> None:
        if self._owner is None and not self._lot:
            self._owner = trio.lowlevel.current_task()
            return
        await trio.lowlevel.checkpoint_if_cancelled()
        await self._lot.park()  # release() makes this task the owner before waking it

    def release(self) -> None:
        if self._owner is not trio.lowlevel.current_task():
            raise RuntimeError("can't release a lock you don't own")
        self._owner = self._lot.unpark(count=1)[0] if self._lot else None

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(self, *_: object) -> None:
        self.release()


def install() -> None:
    for cls, names in _LOCKS_BY_CLASS:
        use_quick_locks(cls, names)


def use_quick_locks(cls: type, names: tuple[str, ...]) -> None:
    """Give every ``cls`` built from now on a QuickLock at each of ``names``.

    A name may be dotted (``rw_lock._writer_lock``); a class is patched once.
    """
    if getattr(cls, _PATCHED, False):
        return
    setattr(cls, _PATCHED, True)
    patched: Any = cls
    patched.__init__ = _with_quick_locks(patched.__init__, names)


def _with_quick_locks(init: Callable[..., None], names: tuple[str, ...]) -> Callable[..., None]:
    def quick_init(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        for name in names:
            *path, attribute = name.split(".")
            holder = self
            for step in path:
                holder = getattr(holder, step)
            setattr(holder, attribute, QuickLock())

    return quick_init
