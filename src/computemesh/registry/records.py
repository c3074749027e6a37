"""Signing and opening node records.

A record is accepted only if its signature verifies against the public key that
its own ``peer_id`` embeds, so no node can write another node's entry. The
signature is checked over the payload's bytes as received, before the claims are
parsed, and the claims are parsed leniently (fields a newer node added are
ignored): a newer node's record still opens here.
"""

import base64
import binascii
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pydantic import ValidationError

from computemesh.errors import RecordError
from computemesh.ids import PeerId
from computemesh.p2p.identity import verify
from computemesh.protocol.mesh import NodeClaims, RecordAuthor, SignedRecord

Signer = Callable[[bytes], bytes]
Reason = Literal["malformed", "forged"]


@dataclass(frozen=True)
class Refusal:
    """Why a record does not open: ``author`` is the peer it names, if it names one."""

    reason: Reason
    author: PeerId | None
    detail: str


def sign(claims: NodeClaims, signer: Signer) -> SignedRecord:
    payload = claims.model_dump_json()
    signature = signer(payload.encode())
    return SignedRecord(payload=payload, signature=base64.b64encode(signature).decode())


def open_record(record: SignedRecord) -> NodeClaims | None:
    """The claims, if the record is well formed and signed by the peer it names."""
    opened = check(record)
    return opened if isinstance(opened, NodeClaims) else None


def check(record: SignedRecord) -> NodeClaims | Refusal:
    """The claims, or why the record does not open."""
    return _open(record.payload, record.signature)


# The same record reaches a node many times (gossip from several mesh peers, the
# validator, table exchanges); verifying is a pure function of its bytes, so it is
# memoized. Sized for a few records per node of a large mesh.
@functools.lru_cache(maxsize=8192)
def _open(payload: str, signature_b64: str) -> NodeClaims | Refusal:
    try:
        author = RecordAuthor.model_validate_json(payload).peer_id
    except ValidationError as error:
        return Refusal("malformed", None, f"the payload names no author ({_first(error)})")
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError):
        return Refusal("malformed", author, "the signature is not base64")
    if not verify(author, payload.encode(), signature):
        return Refusal("forged", author, "the signature does not verify for the peer it names")
    try:
        return NodeClaims.model_validate_json(payload)
    except ValidationError as error:
        return Refusal(
            "malformed", author, f"a signed payload this version cannot read: {_first(error)}"
        )


def _first(error: ValidationError) -> str:
    problem = error.errors(include_input=False, include_url=False)[0]
    where = ".".join(str(part) for part in problem["loc"]) or "payload"
    return f"{where}: {problem['msg']}"


def decode(data: bytes) -> SignedRecord | None:
    try:
        return SignedRecord.model_validate_json(data)
    except ValidationError:
        return None


def decode_snapshot(data: bytes) -> list[SignedRecord | None]:
    """The records of an anti-entropy snapshot, each decoded on its own (None: not a
    record envelope), so one bad record does not cost the others."""
    try:
        document = json.loads(data)
    except ValueError as error:
        raise RecordError(f"a table snapshot that is not JSON: {error}") from None
    items = document.get("records") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise RecordError("a table snapshot without a list of records")
    return [_envelope(item) for item in items]


def _envelope(item: object) -> SignedRecord | None:
    try:
        return SignedRecord.model_validate(item)
    except ValidationError:
        return None
