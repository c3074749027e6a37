"""Records as a node of a later schema would sign them: fields this version never heard of."""

import base64
import json

from computemesh.p2p.identity import NodeIdentity
from computemesh.protocol.mesh import SCHEMA_VERSION, NodeClaims, ServiceClaim, SignedRecord


def newer_payload(identity: NodeIdentity, issued_at: float, seq: int = 5, **extra: object) -> str:
    """This version's fields plus unknown ones, at the top, in a service and in hardware."""
    claims = NodeClaims(
        peer_id=identity.peer_id,
        seq=seq,
        issued_at=issued_at,
        ttl=60,
        services=(ServiceClaim(name="llm", identity_group=("model=m",)),),
    )
    document = json.loads(claims.model_dump_json())
    document.update(schema_version=SCHEMA_VERSION + 5, region="eu-west", **extra)
    document["services"][0]["weight"] = 3
    document["hardware"]["npus"] = [{"name": "a future accelerator"}]
    return json.dumps(document)


def signed(payload: str, identity: NodeIdentity) -> SignedRecord:
    """``payload`` signed as it is, byte for byte, with ``identity``'s key."""
    signature = base64.b64encode(identity.sign(payload.encode())).decode()
    return SignedRecord(payload=payload, signature=signature)
