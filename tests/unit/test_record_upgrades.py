"""Rolling upgrades: a newer node's record, with fields this version does not know, counts.

A refused record is counted by reason and logged once per peer and reason.
"""

import json
import logging

import pytest

from computemesh.p2p.identity import NodeIdentity, generate
from computemesh.protocol.mesh import SCHEMA_VERSION, NodeClaims
from computemesh.registry import records
from computemesh.registry.own_record import OwnRecord
from computemesh.registry.rejections import Rejections
from computemesh.registry.table import NodeTable, Outcome, apply
from tests.support import newer_records
from tests.support.newer_records import signed

NOW = 1_700_000_000.0
NEWER = generate("ed25519")


def newer_payload(identity: NodeIdentity, **extra: object) -> str:
    return newer_records.newer_payload(identity, NOW, **extra)


def test_a_newer_nodes_record_with_unknown_fields_is_accepted() -> None:
    record = signed(newer_payload(NEWER), NEWER)
    table, outcome = apply(NodeTable(), record, NOW)
    assert outcome is Outcome.ACCEPTED
    claims = table.get(NEWER.peer_id)
    assert claims is not None
    assert claims.schema_version == SCHEMA_VERSION + 5
    assert [s.identity_group for s in claims.services] == [("model=m",)]
    assert table.records() == [record]  # kept as signed, unknown fields and all


def test_the_envelope_may_carry_unknown_fields_too() -> None:
    record = signed(newer_payload(NEWER), NEWER)
    wire = json.dumps({**record.model_dump(), "key_type": "ed25519"}).encode()
    assert records.decode(wire) == record
    snapshot = json.dumps({"records": [json.loads(wire), {"payload": 1}], "since": 0}).encode()
    assert records.decode_snapshot(snapshot) == [record, None]


def test_a_tampered_or_impostor_newer_record_is_still_forged() -> None:
    payload = newer_payload(NEWER)
    tampered = signed(payload, NEWER).model_copy(
        update={"payload": payload.replace("eu-west", "us-east")}
    )
    assert apply(NodeTable(), tampered, NOW)[1] is Outcome.FORGED
    impostor = signed(newer_payload(NEWER), generate("ed25519"))
    refusal = records.check(impostor)
    assert isinstance(refusal, records.Refusal)
    assert (refusal.reason, refusal.author) == ("forged", NEWER.peer_id)


def test_a_signed_payload_this_version_cannot_read_is_malformed_and_says_why() -> None:
    refusal = records.check(signed(newer_payload(NEWER, ttl=-1), NEWER))
    assert isinstance(refusal, records.Refusal)
    assert (refusal.reason, refusal.author) == ("malformed", NEWER.peer_id)
    assert "ttl" in refusal.detail


def test_this_version_writes_its_schema_version() -> None:
    own = OwnRecord(peer_id=NEWER.peer_id, ttl=60, version="test")
    assert own.next_claims(NOW).schema_version == SCHEMA_VERSION
    assert NodeClaims.model_validate_json(own.next_claims(NOW).model_dump_json()).schema_version > 1


def test_a_refusal_is_counted_every_time_and_logged_once_per_peer_and_reason(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rejections = Rejections()
    with caplog.at_level(logging.WARNING, logger="computemesh.registry.rejections"):
        for _ in range(3):
            rejections.note("forged", NEWER.peer_id, "gossip", "the signature does not verify")
        rejections.note("expired", NEWER.peer_id, "gossip", "expired 5 s ago")
    assert rejections.by_reason() == {"malformed": 0, "forged": 3, "expired": 1, "future": 0}
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2
    assert "(forged)" in lines[0]
    assert NEWER.peer_id in lines[0]
    assert "does not verify" in lines[0]
