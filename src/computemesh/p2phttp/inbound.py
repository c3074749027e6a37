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
The same sweeper ends a wait for a request's body that stalls (``end_if_stalled``):
a caller may keep the server waiting only so long for one read of a body, and only
so long in all for the whole body.
"""

from collections.abc import Callable

import anyio
import h11

from computemesh.errors import MeshError
from computemesh.p2phttp.channel import READ_SIZE, H11Channel

UNREAD_LIMIT = READ_SIZE  # unparsed bytes held before the reader waits for a taker


class BodyStalled(MeshError):
    """The caller kept the server waiting for a request's body past a body limit."""


class Inbound:
    def __init__(self, channel: H11Channel) -> None:
        self._channel = channel
        self._conn = channel.conn
        self._arrived: anyio.Event | None = None  # set when bytes (or the end) arrive
        self._wake_reader: anyio.Event | None = None
        self._consumer_waiting = False
        self._idle_since: float | None = None  # when the wait for a request began
        self.idled_out = False  # ended while waiting for a request
        self._body_wait_since: float | None = None  # when the wait for body bytes began
        self._body_waited = 0.0  # s this request's body kept the server waiting, so far
        self.body_stalled = False  # ended while waiting for body bytes
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

    def start_body(self) -> None:
        """A new request: its body's waits are counted from zero."""
        self._body_waited = 0.0

    async def next_body_event(self) -> h11.Event:
        """``next_event`` for a request's body; raises ``BodyStalled`` past a body limit.

        Only the time spent waiting for the caller's bytes counts, not the time the app
        takes between reads (an upstream slow to take an upload is not the caller's).
        """
        while (event := self.poll()) is None:
            self._body_wait_since = since = anyio.current_time()
            try:
                await self._more()
            finally:
                self._body_waited += anyio.current_time() - since
                self._body_wait_since = None
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

    def end_if_stalled(self, idle: float, total: float) -> None:
        """End a wait for body bytes that has lasted ``idle`` s, or that brings the
        body's waits to ``total`` s; the waiting read raises ``BodyStalled``."""
        if self._body_wait_since is None or self._arrived is None:
            return  # not waiting for a body, or its bytes have just arrived
        waiting = anyio.current_time() - self._body_wait_since
        if waiting >= idle or self._body_waited + waiting >= total:
            self.body_stalled = True
            self._announce()

    def _unread(self) -> int:
        return len(self._conn.trailing_data[0])

    async def _more(self) -> None:
        if self.gone.is_set():
            raise MeshError("the caller went away")
        if self.idled_out:
            raise MeshError("the connection idled out")
        if self.body_stalled:
            raise BodyStalled("the request body stalled")
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
