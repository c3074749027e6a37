"""Identity keys on disk and join tokens."""

import stat
from pathlib import Path

import pytest

from computemesh import jointoken
from computemesh.errors import IdentityError, TokenError
from computemesh.p2p import identity


def test_key_is_created_0600_and_reused(tmp_path: Path) -> None:
    first = identity.load_or_create(tmp_path / "data", "ed25519")
    mode = stat.S_IMODE(identity.key_path(tmp_path / "data").stat().st_mode)
    assert mode == 0o600
    assert first.peer_id.startswith("12D3KooW")
    assert identity.load_or_create(tmp_path / "data", "ed25519").peer_id == first.peer_id


def test_secp256k1_gives_16uiu2_ids(tmp_path: Path) -> None:
    assert identity.load_or_create(tmp_path, "secp256k1").peer_id.startswith("16Uiu2")


def test_key_type_mismatch_is_a_clear_error(tmp_path: Path) -> None:
    identity.load_or_create(tmp_path, "ed25519")
    with pytest.raises(IdentityError, match="is ed25519, not secp256k1"):
        identity.load_or_create(tmp_path, "secp256k1")


def test_corrupt_key_file_is_a_clear_error(tmp_path: Path) -> None:
    identity.key_path(tmp_path).write_bytes(b"not a key")
    with pytest.raises(IdentityError, match="cannot read identity key"):
        identity.load(tmp_path)


def test_signatures_verify_against_the_peer_id_only() -> None:
    alice, bob = identity.generate("ed25519"), identity.generate("secp256k1")
    assert identity.verify(alice.peer_id, b"data", alice.sign(b"data"))
    assert identity.verify(bob.peer_id, b"data", bob.sign(b"data"))
    assert not identity.verify(alice.peer_id, b"data", bob.sign(b"data"))
    assert not identity.verify(alice.peer_id, b"other", alice.sign(b"data"))
    assert not identity.verify("not-a-peer-id", b"data", alice.sign(b"data"))


def test_token_round_trip() -> None:
    token = jointoken.new_token(["/ip4/127.0.0.1/tcp/1/p2p/12D3KooWx"])
    decoded = jointoken.decode(token.encode())
    assert decoded == token
    assert len(decoded.secret) == 32
    assert jointoken.new_token([]).secret != token.secret


@pytest.mark.parametrize("bad", ["", "hello", "cm1.", "cm1.!!!!", "cm1.e30"])
def test_damaged_tokens_are_refused(bad: str) -> None:
    with pytest.raises(TokenError):
        jointoken.decode(bad)
