"""The pure merge: property tests that every node converges to the same table."""

import base64
import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from computemesh.ids import PeerId
from computemesh.p2p.identity import generate
from computemesh.protocol.mesh import NodeClaims, ServiceClaim, SignedRecord
from computemesh.registry.records import sign
from computemesh.registry.table import NodeTable, Outcome, apply, apply_all, expire

NOW = 1_700_000_000.0
AUTHORS = [generate("ed25519") for _ in range(3)] + [generate("secp256k1")]


def make(
    author: int, seq: int, age: float = 0.0, ttl: float = 30.0, deleted: bool = False
) -> SignedRecord:
    identity = AUTHORS[author]
    claims = NodeClaims(
        peer_id=identity.peer_id,
        seq=seq,
        issued_at=NOW - age,
        ttl=ttl,
        deleted=deleted,
        services=(ServiceClaim(name="llm", identity_group=(f"model=m{seq}",)),),
    )
    return sign(claims, identity.sign)


records = st.builds(
    make,
    author=st.integers(0, len(AUTHORS) - 1),
    seq=st.integers(1, 6),
    age=st.sampled_from([0.0, 5.0, 29.0, 45.0]),
    deleted=st.booleans(),
)


def merged(*tables: NodeTable) -> NodeTable:
    result = NodeTable()
    for table in tables:
        result = apply_all(result, table.records(), NOW)
    return result


@given(records, records)
def test_merge_is_commutative(a: SignedRecord, b: SignedRecord) -> None:
    ab, _ = apply(apply(NodeTable(), a, NOW)[0], b, NOW)
    ba, _ = apply(apply(NodeTable(), b, NOW)[0], a, NOW)
    assert ab == ba


@given(st.lists(records, max_size=6), records)
def test_merge_is_idempotent(history: list[SignedRecord], record: SignedRecord) -> None:
    once, _ = apply(apply_all(NodeTable(), history, NOW), record, NOW)
    twice, outcome = apply(once, record, NOW)
    assert twice == once
    assert outcome is not Outcome.ACCEPTED


@settings(max_examples=60)
@given(st.lists(records, max_size=5), st.lists(records, max_size=5), st.lists(records, max_size=5))
def test_merge_is_associative(
    a: list[SignedRecord], b: list[SignedRecord], c: list[SignedRecord]
) -> None:
    ta, tb, tc = (apply_all(NodeTable(), part, NOW) for part in (a, b, c))
    assert merged(merged(ta, tb), tc) == merged(ta, merged(tb, tc))


@settings(max_examples=30)
@given(st.lists(records, min_size=2, max_size=5))
def test_every_arrival_order_gives_the_same_table(history: list[SignedRecord]) -> None:
    results = {
        tuple(sorted(apply_all(NodeTable(), order, NOW).entries.items()))
        for order in itertools.permutations(history)
    }
    assert len(results) == 1


def test_highest_sequence_wins_and_older_is_stale() -> None:
    table, _ = apply(NodeTable(), make(0, seq=5), NOW)
    table, outcome = apply(table, make(0, seq=3), NOW)
    assert outcome is Outcome.STALE
    claims = table.get(AUTHORS[0].peer_id)
    assert claims is not None
    assert claims.seq == 5


def test_replayed_record_is_a_duplicate() -> None:
    record = make(0, seq=5)
    table, _ = apply(NodeTable(), record, NOW)
    assert apply(table, record, NOW) == (table, Outcome.DUPLICATE)


def test_record_claiming_another_peer_is_forged() -> None:
    honest = make(1, seq=9)
    claims = NodeClaims.model_validate_json(honest.payload)
    impostor = claims.model_copy(update={"peer_id": AUTHORS[0].peer_id}).model_dump_json()
    forged = SignedRecord(payload=impostor, signature=honest.signature)
    assert apply(NodeTable(), forged, NOW) == (NodeTable(), Outcome.FORGED)


def test_record_signed_by_another_key_is_forged() -> None:
    claims = NodeClaims(peer_id=AUTHORS[0].peer_id, seq=1, issued_at=NOW, ttl=30)
    assert apply(NodeTable(), sign(claims, AUTHORS[1].sign), NOW)[1] is Outcome.FORGED


def test_tampered_payload_and_garbage_signature_are_forged() -> None:
    record = make(0, seq=2)
    tampered = SignedRecord(payload=record.payload.replace("m2", "m3"), signature=record.signature)
    garbage = SignedRecord(payload=record.payload, signature=base64.b64encode(b"x" * 64).decode())
    not_base64 = SignedRecord(payload=record.payload, signature="@@@")
    for bad in (tampered, garbage):
        assert apply(NodeTable(), bad, NOW)[1] is Outcome.FORGED
    # Not even a record to check the signature of: refused as malformed.
    for bad in (not_base64, SignedRecord(payload="{}", signature="")):
        assert apply(NodeTable(), bad, NOW)[1] is Outcome.MALFORMED


def test_expired_and_future_records_are_rejected() -> None:
    assert apply(NodeTable(), make(0, seq=1, age=31.0), NOW)[1] is Outcome.EXPIRED
    assert apply(NodeTable(), make(0, seq=1, age=-3600.0), NOW)[1] is Outcome.FUTURE


def test_tombstone_replaces_record_and_blocks_replay() -> None:
    alive = make(0, seq=1)
    table, _ = apply(NodeTable(), alive, NOW)
    table, outcome = apply(table, make(0, seq=2, deleted=True), NOW)
    assert outcome is Outcome.ACCEPTED
    assert table.live() == []
    assert apply(table, alive, NOW)[1] is Outcome.STALE


def test_expire_drops_records_past_their_ttl() -> None:
    table = apply_all(NodeTable(), [make(0, seq=1, age=20.0), make(1, seq=1)], NOW)
    table, gone = expire(table, NOW + 15.0)
    assert gone == [PeerId(AUTHORS[0].peer_id)]
    assert [c.peer_id for c in table.live()] == [AUTHORS[1].peer_id]
