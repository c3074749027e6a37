"""The node table as a value, and ``apply``: the pure function that merges one record.

Merge rule, per author: the record with the highest ``(seq, signature digest)``
wins; a tombstone is just a record with ``deleted`` set. Records are rejected if
malformed, forged (bad signature), expired, or dated too far in the future (the
``REJECTED`` outcomes), and not taken if stale or replayed (not newer than what we
hold). Because "keep the maximum" is a join, merging is
commutative, idempotent and associative: every node that has seen the same
records holds the same table, whatever order they arrived in.
"""

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType

from computemesh.ids import PeerId
from computemesh.protocol.mesh import NodeClaims, SignedRecord
from computemesh.registry.records import Refusal, check

MAX_CLOCK_SKEW_S = 60.0


class Outcome(Enum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    STALE = "stale"
    MALFORMED = "malformed"
    FORGED = "forged"
    EXPIRED = "expired"
    FUTURE = "future"


# Records refused as invalid (each counted and logged); a stale or duplicate one is
# ordinary replication, a copy that arrived late.
REJECTED = (Outcome.MALFORMED, Outcome.FORGED, Outcome.EXPIRED, Outcome.FUTURE)


@dataclass(frozen=True)
class Entry:
    claims: NodeClaims
    record: SignedRecord
    rank: tuple[int, str]


@dataclass(frozen=True)
class NodeTable:
    """Immutable: every change returns a new table."""

    entries: Mapping[PeerId, Entry] = field(default_factory=lambda: MappingProxyType({}))

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, peer: PeerId) -> NodeClaims | None:
        entry = self.entries.get(peer)
        return entry.claims if entry else None

    def live(self) -> list[NodeClaims]:
        """Every record that is not a tombstone."""
        return [e.claims for e in self.entries.values() if not e.claims.deleted]

    def records(self) -> list[SignedRecord]:
        return [e.record for e in self.entries.values()]


def rank(claims: NodeClaims, record: SignedRecord) -> tuple[int, str]:
    # The digest breaks the (only theoretical) tie of two records an author signed
    # with the same seq, identically on every node.
    return claims.seq, hashlib.sha256(record.signature.encode()).hexdigest()


def apply(table: NodeTable, record: SignedRecord, now: float) -> tuple[NodeTable, Outcome]:
    """Merge ``record`` into ``table`` as seen at unix time ``now``."""
    claims = check(record)
    if isinstance(claims, Refusal):
        return table, Outcome(claims.reason)
    if claims.expires_at <= now:
        return table, Outcome.EXPIRED
    if claims.issued_at > now + MAX_CLOCK_SKEW_S:
        return table, Outcome.FUTURE
    new_rank = rank(claims, record)
    current = table.entries.get(claims.peer_id)
    if current is not None and current.rank == new_rank:
        return table, Outcome.DUPLICATE
    if current is not None and current.rank > new_rank:
        return table, Outcome.STALE
    entries = dict(table.entries)
    entries[claims.peer_id] = Entry(claims, record, new_rank)
    return NodeTable(MappingProxyType(entries)), Outcome.ACCEPTED


def apply_all(table: NodeTable, records: Iterable[SignedRecord], now: float) -> NodeTable:
    for record in records:
        table, _ = apply(table, record, now)
    return table


def expire(table: NodeTable, now: float) -> tuple[NodeTable, list[PeerId]]:
    """Drop records whose time to live has run out; returns the dropped peers."""
    gone = [peer for peer, e in table.entries.items() if e.claims.expires_at <= now]
    if not gone:
        return table, []
    kept = {peer: e for peer, e in table.entries.items() if peer not in gone}
    return NodeTable(MappingProxyType(kept)), gone
