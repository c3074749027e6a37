"""A server's kept-alive HTTP/1.1 connections: the idle and body limits, closing them on stop."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import anyio
import h11

from computemesh.errors import MeshError
from computemesh.p2phttp.inbound import Inbound

IDLE_TIMEOUT_S = 90.0
MAX_SWEEP_INTERVAL_S = 5.0


@dataclass(frozen=True)
class BodyTimeouts:
    """How long a caller may keep the server waiting for a request's body.

    ``idle``: for any one read of it; ``total``: for all its reads together. Only the
    waits for the caller's bytes count, so a slow-but-steady upload that an upstream
    takes slowly is not cut; one byte every few seconds is.
    """

    idle: float = 60.0
    total: float = 300.0


class Drain:
    """A server's keep-alive connections: idle ones end after the idle limit and on close.

    The idle limit covers only the wait for a request's head: an answer may take as
    long as the app needs (a long generation, say). The body limits (``body``) cover
    the waits for a request's body (the server answers 408 and closes). One sweeper
    task enforces both for all connections (``sweep_forever``): a connection past a
    limit ends within a quarter of that limit more (5 s at most), never sooner. It
    replaces a time limit around each wait, whose cancel scope cost more CPU than the
    rest of the wait. Without a sweeper, connections stay until the caller leaves.
    """

    def __init__(
        self, idle_timeout: float = IDLE_TIMEOUT_S, body: BodyTimeouts | None = None
    ) -> None:
        self.closing = False
        self.idle_timeout = idle_timeout
        self.body = body or BodyTimeouts()
        self._connections: set[Inbound] = set()

    def close(self) -> None:
        """End the idle connections now, and each busy one after its answer."""
        self.closing = True
        for inbound in list(self._connections):
            inbound.end_if_idle(0.0)

    async def sweep_forever(self) -> None:
        shortest = min(self.idle_timeout, self.body.idle, self.body.total)
        while True:
            await anyio.sleep(min(shortest / 4, MAX_SWEEP_INTERVAL_S))
            for inbound in list(self._connections):
                inbound.end_if_idle(self.idle_timeout)
                inbound.end_if_stalled(self.body.idle, self.body.total)

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
