"""The gateway's data dir: where the default SQLite database lives, readable by its user only."""

from pathlib import Path

from computemesh.gateway.errors import StorageError

PRIVATE = 0o700


def make_private_dir(path: Path) -> None:
    """Create ``path`` and any missing parent as 0700; StorageError (one line) if it cannot be."""
    missing = [folder for folder in (path, *path.parents) if not folder.exists()]
    try:
        for folder in reversed(missing):
            folder.mkdir(mode=PRIVATE)
            folder.chmod(PRIVATE)  # mkdir's mode is narrowed by the umask, never widened
        if not path.is_dir():
            raise NotADirectoryError(f"{path} is not a directory")
    except OSError as error:
        reason = error.strerror or str(error)
        raise StorageError(f"cannot create the data dir {path}: {reason}") from None
