"""Joining the mesh: bootstrap addresses from config, HTTP sources and the join token,
and redialing them with exponential backoff and jitter whenever no peer is left.

Static addresses (config, join token) are the operator's and are dialed as given;
addresses a source returns are other nodes' claims, dialed only where plausible.
"""

import logging
import random
from collections.abc import Iterator

import anyio
import httpx

from computemesh.errors import ComputemeshError
from computemesh.p2p.host import MeshHost
from computemesh.p2phttp import FORWARDED_MARKER

log = logging.getLogger(__name__)
SOURCE_TIMEOUT_S = 5.0
CHECK_INTERVAL_S = 1.0


def backoff_delays(
    initial: float, maximum: float, rng: random.Random | None = None
) -> Iterator[float]:
    """Delays that double up to ``maximum``, each with "equal jitter" (half fixed, half random),
    so nodes that lost the same bootstrap do not all redial at the same instant."""
    rng = rng or random.Random()
    delay = initial
    while True:
        yield delay / 2 + rng.uniform(0, delay / 2)
        delay = min(delay * 2, maximum)


async def fetch_source(client: httpx.AsyncClient, url: str) -> list[str]:
    """Read ``{"bootstraps": [...]}`` from a URL (another node's /v1/dnt/bootstraps)."""
    try:
        response = await client.get(url, timeout=SOURCE_TIMEOUT_S)
        response.raise_for_status()
        found = response.json().get("bootstraps", [])
    except (httpx.HTTPError, ValueError, AttributeError) as error:
        log.warning("bootstrap source %s unusable: %s", url, error)
        return []
    return [addr for addr in found if isinstance(addr, str)]


class Bootstrapper:
    def __init__(
        self,
        host: MeshHost,
        static: list[str],
        sources: list[str],
        *,
        initial_delay: float,
        max_delay: float,
    ) -> None:
        self._host = host
        self._static = static
        self._sources = sources
        self._initial = initial_delay
        self._max = max_delay
        self.rounds = 0

    @property
    def configured(self) -> bool:
        return bool(self._static or self._sources)

    async def run(self) -> None:
        if not self.configured:
            return
        await self.connect_all()
        while True:
            await self._wait_until_alone()
            for delay in backoff_delays(self._initial, self._max):
                await anyio.sleep(delay)
                if self._host.connected_peers() or await self.connect_all():
                    break

    async def _wait_until_alone(self) -> None:
        # Polls a count that libp2p owns; a second-scale delay is what we want here.
        while self._host.connected_peers():  # noqa: ASYNC110
            await anyio.sleep(CHECK_INTERVAL_S)

    async def resolve(self) -> tuple[list[str], list[str]]:
        """``(static, learned)``: the operator's addresses, and those the sources gave."""
        learned: list[str] = []
        if self._sources:
            async with httpx.AsyncClient(headers={FORWARDED_MARKER: "1"}) as client:
                for url in self._sources:
                    learned.extend(await fetch_source(client, url))
        static = self._others(self._static)
        return static, [a for a in self._others(learned) if a not in static]

    def _others(self, addrs: list[str]) -> list[str]:
        own = f"/p2p/{self._host.peer_id}"
        return sorted({a for a in addrs if not a.endswith(own)})

    async def connect_all(self) -> bool:
        """Dial every bootstrap once; True if at least one answered."""
        self.rounds += 1
        connected = 0

        async def dial(addr: str, trusted: bool) -> None:
            nonlocal connected
            try:
                await (self._host.dial(addr) if trusted else self._host.dial_learned(addr))
                connected += 1
            except ComputemeshError as error:
                log.info("bootstrap %s not reachable: %s", addr, error)

        static, learned = await self.resolve()
        async with anyio.create_task_group() as dials:
            for addr in static:
                dials.start_soon(dial, addr, True)
            for addr in learned:
                dials.start_soon(dial, addr, False)
        return connected > 0
