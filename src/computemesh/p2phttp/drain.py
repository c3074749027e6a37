"""A server's kept-alive HTTP/1.1 connections: the idle limit, and closing them on stop."""

from collections.abc import Iterator
from contextlib import contextmanager

import anyio
import h11

from computemesh.errors import MeshError
from computemesh.p2phttp.inbound import Inbound

IDLE_TIMEOUT_S = 90.0
MAX_SWEEP_INTERVAL_S = 5.0


class Drain:
    """A server's keep-alive connections: idle ones end after the idle limit and on close.

    The idle limit covers only the wait for a request's head: an answer may take as
    long as the app needs (a long generation, say). One sweeper task enforces it for
    all connections (``sweep_forever``): a connection idle for ``idle_timeout`` s ends
    within a quarter of that more (5 s at most), never sooner. It replaces a time
    limit around each wait for a request, whose cancel scope cost more CPU than the
    rest of the wait. Without a sweeper, connections stay until the caller leaves.
    """

    def __init__(self, idle_timeout: float = IDLE_TIMEOUT_S) -> None:
        self.closing = False
        self.idle_timeout = idle_timeout
        self._connections: set[Inbound] = set()

    def close(self) -> None:
        """End the idle connections now, and each busy one after its answer."""
        self.closing = True
        for inbound in list(self._connections):
            inbound.end_if_idle(0.0)

    async def sweep_forever(self) -> None:
        while True:
            await anyio.sleep(min(self.idle_timeout / 4, MAX_SWEEP_INTERVAL_S))
            for inbound in list(self._connections):
                inbound.end_if_idle(self.idle_timeout)

    async def next_request(self, inbound: Inbound) -> h11.Event | None:
        """The next event, or None once idle too long or closing."""
        if self.closing:
            return None
        inbound.waiting_for_request(True)
        try:
            return await inbound.next_event()
        except MeshError:
            if inbound.idled_out:
                return None
            raise
        finally:
            inbound.waiting_for_request(False)

    @contextmanager
    def watching(self, inbound: Inbound) -> Iterator[None]:
        self._connections.add(inbound)
        try:
            yield
        finally:
            self._connections.discard(inbound)
