"""Periodic health probes of this node's service upstreams.

An unhealthy service stays in the record marked ``unhealthy`` so that operators
see it, and routing does not offer it.
"""

import logging
from collections.abc import Callable

import anyio
import httpx

from computemesh.p2phttp import FORWARDED_MARKER
from computemesh.registry.own_record import OwnRecord
from computemesh.registry.services import probe

log = logging.getLogger(__name__)


async def probe_forever(own: OwnRecord, interval: float, on_change: Callable[[], None]) -> None:
    # Marked like every request the node sends, so a probe never acts as the operator;
    # trust_env=False: the probes go to this machine's upstreams, never through a proxy.
    async with httpx.AsyncClient(headers={FORWARDED_MARKER: "1"}, trust_env=False) as client:
        while True:
            await probe_once(client, own, on_change)
            await anyio.sleep(interval)


async def probe_once(
    client: httpx.AsyncClient, own: OwnRecord, on_change: Callable[[], None]
) -> None:
    changed = False
    for service in list(own.services.values()):
        try:
            healthy = await probe(client, service)
        except Exception:  # whatever one probe does, the others still run
            log.exception("probing service %s failed", service.name)
            healthy = False
        changed |= own.set_health(service.name, healthy)
    if changed:
        on_change()
