"""Requests this node is serving for the mesh, reported in its signed record.

Every change would be a re-signed record gossiped to every node, so the record
follows the meter at most once per ``interval``; callers' own in-flight counts
(``ProviderStats``) cover the moments in between.
"""

from collections.abc import Callable

import anyio

from computemesh.registry.own_record import OwnRecord

REPORT_INTERVAL_S = 1.0


class LoadMeter:
    def __init__(self) -> None:
        self.in_flight = 0

    def started(self) -> None:
        self.in_flight += 1

    def finished(self) -> None:
        self.in_flight -= 1


async def report_load(
    meter: LoadMeter,
    own: OwnRecord,
    publish: Callable[[], None],
    interval: float = REPORT_INTERVAL_S,
) -> None:
    while True:
        await anyio.sleep(interval)
        if own.load != meter.in_flight:
            own.load = meter.in_flight
            publish()
