"""The data dir: usable (a directory we can write, or one we can create), and who holds it."""

import os
import tempfile
from pathlib import Path

from computemesh.node.data_dir_lock import current_holder
from computemesh.node.doctor.finding import Finding, fail, ok

CHECK = "data dir"
FIX_PARENT = "choose a --data-dir whose every parent is a directory"


def check_data_dir(data_dir: Path) -> Finding:
    if data_dir.exists() and not data_dir.is_dir():
        return fail(CHECK, f"{data_dir} is a file, not a directory", FIX_PARENT)
    if not data_dir.exists():
        return _creatable(data_dir)
    try:
        with tempfile.TemporaryFile(dir=data_dir):
            pass
    except OSError as error:
        return fail(
            CHECK,
            f"cannot write in {data_dir}: {error.strerror}",
            f"give the user running the node write access to {data_dir}, or choose another"
            " --data-dir",
        )
    holder = current_holder(data_dir)
    if holder is None:
        return ok(CHECK, f"{data_dir} is writable; no node runs on it now")
    return ok(CHECK, f"{data_dir} is writable; locked by the node running on it ({holder})")


def _creatable(data_dir: Path) -> Finding:
    """A data dir that does not exist yet is made at the first start: can it be?"""
    parent = data_dir.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        return fail(CHECK, f"cannot create {data_dir}: {parent} is a file", FIX_PARENT)
    if not os.access(parent, os.W_OK | os.X_OK):
        return fail(
            CHECK,
            f"cannot create {data_dir}: {parent} is not writable",
            f"create {data_dir} for the user running the node, or choose another --data-dir",
        )
    return ok(CHECK, f"{data_dir} does not exist yet; it is created at the first start")
