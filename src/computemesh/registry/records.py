"""Signing and opening node records.

A record is accepted only if its signature verifies against the public key that
its own ``peer_id`` embeds, so no node can write another node's entry.
"""

import base64
import binascii
import functools
from collections.abc import Callable

from pydantic import ValidationError

from computemesh.p2p.identity import verify
from computemesh.protocol.mesh import NodeClaims, SignedRecord

Signer = Callable[[bytes], bytes]


def sign(claims: NodeClaims, signer: Signer) -> SignedRecord:
    payload = claims.model_dump_json()
    signature = signer(payload.encode())
    return SignedRecord(payload=payload, signature=base64.b64encode(signature).decode())


def open_record(record: SignedRecord) -> NodeClaims | None:
    """The claims, if the record is well formed and signed by the peer it names."""
    return _open(record.payload, record.signature)


# The same record reaches a node many times (gossip from several mesh peers, the
# validator, table exchanges); verifying is a pure function of its bytes, so it is
# memoized. Sized for a few records per node of a large mesh.
@functools.lru_cache(maxsize=8192)
def _open(payload: str, signature_b64: str) -> NodeClaims | None:
    try:
        claims = NodeClaims.model_validate_json(payload)
        signature = base64.b64decode(signature_b64, validate=True)
    except (ValidationError, binascii.Error, ValueError):
        return None
    if not verify(claims.peer_id, payload.encode(), signature):
        return None
    return claims


def decode(data: bytes) -> SignedRecord | None:
    try:
        return SignedRecord.model_validate_json(data)
    except ValidationError:
        return None
