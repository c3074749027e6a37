"""A server connection's incoming bytes, read by one task for the connection's whole life.

Whoever needs the next h11 event (the connection waiting for a request, the app
reading a body) pulls it with ``next_event``. The reader keeps reading while fewer
than ``UNREAD_LIMIT`` bytes wait unparsed, so it notices at once a caller that
leaves (or sends its next request early), and past that only when someone waits
for bytes: a body the app does not take holds the caller back. The server used to
start a reader task for each request and cancel it after the answer: on a slow VM
that start and cancel took 400 of the 760 us a trivial request cost the server.

A connection waiting for its next request can be ended from outside (``end_if_idle``):
the server's sweeper does it past the idle limit, instead of a time limit around
each wait for a request, whose cancel scope cost more than the rest of the wait.
"""

from collections.abc import Callable

import anyio
import h11

from computemesh.errors import MeshError
from computemesh.p2phttp.channel import READ_SIZE, H11Channel

UNREAD_LIMIT = READ_SIZE  # unparsed bytes held before the reader waits for a taker


class Inbound:
    def __init__(self, channel: H11Channel) -> None:
        self._channel = channel
        self._conn = channel.conn
        self._arrived: anyio.Event | None = None  # set when bytes (or the end) arrive
        self._wake_reader: anyio.Event | None = None
        self._consumer_waiting = False
        self._idle_since: float | None = None  # when the wait for a request began
        self.idled_out = False  # ended while waiting for a request
        self.gone = anyio.Event()  # the caller closed its side, or the connection broke
        self.on_gone: Callable[[], None] | None = None

    async def run(self) -> None:
        """The reader: run in a task of its own, cancelled when the connection ends."""
        while not self.gone.is_set():
            if not self._consumer_waiting and self._unread() >= UNREAD_LIMIT:
                self._wake_reader = anyio.Event()
                await self._wake_reader.wait()
                continue
            try:
                data = await self._channel.stream.read(READ_SIZE)
            except MeshError:
                data = b""  # a reset reads as an end; h11 then reports what it lacks
            self._conn.receive_data(data)
            if not data:
                self._leave()
            self._announce()

    async def next_event(self) -> h11.Event:
        """The next event; raises ``h11.RemoteProtocolError`` on bytes that are not HTTP."""
        while (event := self.poll()) is None:
            await self._more()
        return event

    def poll(self) -> h11.Event | None:
        """The next event if its bytes are already here; None if it needs more."""
        event = self._channel.poll()
        if event is not None:
            self._wake()  # bytes were taken: a reader held at the limit may go on
        return event

    def waiting_for_request(self, waiting: bool) -> None:
        """Mark the start and the end of a wait for the next request."""
        self._idle_since = anyio.current_time() if waiting else None

    def end_if_idle(self, limit: float) -> None:
        """End a wait for the next request that has lasted ``limit`` s or more.

        The waiting ``next_event`` raises ``MeshError`` and ``idled_out`` is set. A
        wait whose bytes have just arrived is left alone: its request is served.
        """
        if self._idle_since is None or self._arrived is None:
            return
        if anyio.current_time() - self._idle_since >= limit:
            self.idled_out = True
            self._announce()

    def _unread(self) -> int:
        return len(self._conn.trailing_data[0])

    async def _more(self) -> None:
        if self.gone.is_set():
            raise MeshError("the caller went away")
        if self.idled_out:
            raise MeshError("the connection idled out")
        if self._arrived is None:
            self._arrived = anyio.Event()
        arrived = self._arrived
        self._consumer_waiting = True
        self._wake()
        try:
            await arrived.wait()
        finally:
            self._consumer_waiting = False

    def _wake(self) -> None:
        if self._wake_reader is not None:
            self._wake_reader.set()
            self._wake_reader = None

    def _announce(self) -> None:
        if self._arrived is not None:
            self._arrived.set()
            self._arrived = None

    def _leave(self) -> None:
        self.gone.set()
        if self.on_gone is not None:
            self.on_gone()
