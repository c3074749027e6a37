"""Records this node refused: counted by reason, and logged once per peer and reason.

Before, a record this version could not read simply did not count, with nothing
logged, so a newer node was invisible to older ones and nobody could tell why. Now
every refusal counts (``/v1/dnt/stats`` ``rejected_records``), and the first of
each reason from each peer is one warning line saying why. The peer is the one the
record names (its claimed author), else the peer that sent it.

The last refusal of each named peer is kept too (``last``: reason, detail, when, and
the identity entries the record claimed if it could be read), so ``/v1/dnt/explain``
can say why a peer's record is not in the table.
"""

import logging
import time
from collections import Counter
from dataclasses import dataclass

from computemesh.ids import PeerId
from computemesh.protocol.mesh import NodeClaims

log = logging.getLogger(__name__)

REASONS = ("malformed", "forged", "expired", "future")
# Peers (with a reason) already logged, at most this many: a flood of records naming
# made-up peers must not grow memory; past it, the set starts over.
MAX_REMEMBERED = 4096


@dataclass(frozen=True)
class Rejection:
    reason: str
    detail: str
    at: float
    """Unix seconds."""
    claimed: frozenset[str] = frozenset()
    """The identity entries (``model=gpt2``) of the refused record, when it was readable."""


class Rejections:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.last: dict[PeerId, Rejection] = {}
        self._logged: set[tuple[str, str]] = set()

    def note(
        self,
        reason: str,
        peer: PeerId | None,
        source: str,
        detail: str,
        claimed: frozenset[str] = frozenset(),
    ) -> None:
        """Count a refused record; log it if it is the first for ``peer`` and ``reason``."""
        self.counts[reason] += 1
        if peer is not None:
            if len(self.last) >= MAX_REMEMBERED and peer not in self.last:
                self.last.clear()
            self.last[peer] = Rejection(reason, detail, time.time(), claimed)
        key = (peer or "", reason)
        if key in self._logged:
            return
        if len(self._logged) >= MAX_REMEMBERED:
            self._logged.clear()
        self._logged.add(key)
        log.warning(
            "rejected a node record (%s) %s from %s: %s; further ones from it are only counted",
            reason,
            f"naming {peer}" if peer else "naming no peer",
            source,
            detail,
        )

    def by_reason(self) -> dict[str, int]:
        return {reason: self.counts[reason] for reason in REASONS}


def claimed(claims: NodeClaims) -> frozenset[str]:
    """Every identity entry the services of ``claims`` list."""
    return frozenset(entry for service in claims.services for entry in service.identity_group)
