"""The node's identity key: readable, of the configured type, private to its owner."""

from pathlib import Path

from computemesh.errors import IdentityError
from computemesh.node.doctor.finding import Finding, fail, note, ok
from computemesh.p2p import identity

CHECK = "identity"


def check_identity(data_dir: Path, key_type: str) -> Finding:
    path = identity.key_path(data_dir)
    if not path.is_file():
        return note(CHECK, f"no key at {path} yet; a new {key_type} key is made at the first start")
    try:
        found = identity.load(data_dir)
    except IdentityError as error:
        return fail(
            CHECK,
            str(error),
            "restore the key file from a backup, or run `computemesh identity new --force`"
            " (the node gets a new peer id)",
        )
    if found.key_type != key_type:
        return fail(
            CHECK,
            f"the key is {found.key_type}, the settings ask for {key_type}",
            f"set key_type to {found.key_type}, or run `computemesh identity new --key-type"
            f" {key_type} --force` (a new peer id)",
        )
    if path.stat().st_mode & 0o077:
        return fail(CHECK, f"{path} is readable by other users", f"chmod 600 {path}")
    return ok(CHECK, f"peer id {found.peer_id} ({found.key_type})")
