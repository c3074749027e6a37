"""The node's libp2p identity: key creation, 0600 storage, signing and verification.

Ed25519 gives ``12D3KooW…`` peer ids, secp256k1 ``16Uiu2…``. Both embed the public
key in the peer id, so a signature can be checked against the peer id alone.
"""

import os
from dataclasses import dataclass
from pathlib import Path

from libp2p.crypto.ed25519 import create_new_key_pair as new_ed25519
from libp2p.crypto.keys import KeyPair, KeyType, PrivateKey
from libp2p.crypto.secp256k1 import create_new_key_pair as new_secp256k1
from libp2p.crypto.serialization import deserialize_private_key
from libp2p.peer.id import ID

from computemesh.errors import IdentityError
from computemesh.ids import PeerId

KEY_FILE = "identity.key"
_KEY_TYPE_NAMES = {KeyType.Ed25519: "ed25519", KeyType.Secp256k1: "secp256k1"}


@dataclass(frozen=True)
class NodeIdentity:
    key_pair: KeyPair

    @property
    def peer_id(self) -> PeerId:
        return PeerId(ID.from_pubkey(self.key_pair.public_key).to_base58())

    @property
    def key_type(self) -> str:
        return _KEY_TYPE_NAMES[self.key_pair.private_key.get_type()]

    def sign(self, data: bytes) -> bytes:
        signature: bytes = self.key_pair.private_key.sign(data)
        return signature


def generate(key_type: str) -> NodeIdentity:
    if key_type == "ed25519":
        return NodeIdentity(new_ed25519())
    if key_type == "secp256k1":
        return NodeIdentity(new_secp256k1())
    raise IdentityError(f"unknown key type {key_type!r}; use ed25519 or secp256k1")


def key_path(data_dir: Path) -> Path:
    return data_dir / KEY_FILE


def save(identity: NodeIdentity, data_dir: Path) -> Path:
    """Write the private key readable by the owner only (created 0600, never widened)."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = key_path(data_dir)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(identity.key_pair.private_key.serialize())
    os.replace(tmp, path)
    return path


def load(data_dir: Path) -> NodeIdentity:
    path = key_path(data_dir)
    try:
        private: PrivateKey = deserialize_private_key(path.read_bytes())
    except FileNotFoundError:
        raise IdentityError(f"no identity key at {path}") from None
    except Exception as error:
        raise IdentityError(f"cannot read identity key {path}: {error}") from error
    return NodeIdentity(KeyPair(private, private.get_public_key()))


def load_or_create(data_dir: Path, key_type: str) -> NodeIdentity:
    """Reuse the stored key (same peer id after restart) or create one on first start."""
    if not key_path(data_dir).exists():
        identity = generate(key_type)
        save(identity, data_dir)
        return identity
    identity = load(data_dir)
    if identity.key_type != key_type:
        raise IdentityError(
            f"the key in {data_dir} is {identity.key_type}, not {key_type}; "
            f"run `computemesh identity new --key-type {key_type} --force` or use another data dir"
        )
    return identity


def verify(peer_id: str, data: bytes, signature: bytes) -> bool:
    """True if ``signature`` over ``data`` was made by the key that ``peer_id`` names."""
    try:
        public_key = ID.from_base58(peer_id).extract_public_key()
        return public_key is not None and bool(public_key.verify(data, signature))
    except Exception:
        # Any malformed id or signature is simply not a valid signature.
        return False


def is_valid_peer_id(text: str) -> bool:
    try:
        return ID.from_base58(text).extract_public_key() is not None
    except Exception:
        return False
