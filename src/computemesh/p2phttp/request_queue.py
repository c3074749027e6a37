"""The request messages of one exchange, handed from the stream's reader to the app.

A bounded first-in, first-out queue for one producer and one consumer, like anyio's
memory object stream, except that ``put`` and ``get`` only yield when they must wait.
anyio's stream passes through trio's scheduler on every send and every receive: four
turns of the event loop for each request a provider serves, none of them waiting.
"""

from collections import deque
from typing import Generic, TypeVar

import anyio

T = TypeVar("T")


class RequestQueue(Generic[T]):
    def __init__(self, limit: int) -> None:
        self._items: deque[T] = deque()
        self._limit = limit
        self._changed: anyio.Event | None = None

    def __len__(self) -> int:
        return len(self._items)

    async def put(self, item: T) -> None:
        """Add ``item``, waiting while ``limit`` items are still unread."""
        while len(self._items) >= self._limit:
            await self._next_change()
        self._items.append(item)
        self._announce_change()

    async def get(self) -> T:
        """The oldest item, waiting for one if there is none."""
        while not self._items:
            await self._next_change()
        item = self._items.popleft()
        self._announce_change()
        return item

    async def _next_change(self) -> None:
        if self._changed is None:
            self._changed = anyio.Event()
        await self._changed.wait()

    def _announce_change(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None
