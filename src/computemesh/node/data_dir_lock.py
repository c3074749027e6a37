"""One running node per data dir: the data dir holds the identity, so two nodes on it
would be one peer id twice in the mesh.

The node holds an exclusive ``flock`` on ``node.lock`` in its data dir for its whole
life; the kernel drops it when the process ends, however it ends, so a node killed
with SIGKILL never leaves a stale lock. The holder writes its pid and HTTP address
into the file, so a second node started on the same data dir can say which one runs.
"""

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from computemesh.errors import ConfigError

LOCK_FILE = "node.lock"


class DataDirLock:
    """The held lock of a data dir; ``describe`` tells later starters who holds it."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._holder: dict[str, object] = {"pid": os.getpid()}
        self._write()

    def describe(self, http_url: str) -> None:
        """Name this node's HTTP address in the lock file."""
        self._holder["http"] = http_url
        self._write()

    def _write(self) -> None:
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, json.dumps(self._holder).encode(), 0)


@contextmanager
def hold_data_dir(data_dir: Path) -> Iterator[DataDirLock]:
    """Create ``data_dir`` if needed and lock it; ``ConfigError`` (one line) when it is
    unusable or another node holds it."""
    fd = _open_lock_file(data_dir)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(
                f"data dir {data_dir} is in use by another node ({_read_holder(fd)});"
                " stop it or give this node its own --data-dir"
            ) from None
        except OSError as error:
            raise ConfigError(f"cannot lock data dir {data_dir}: {error.strerror}") from None
        try:
            yield DataDirLock(fd)
        finally:
            os.ftruncate(fd, 0)  # still held: nobody reads a holder that has left
    finally:
        os.close(fd)  # releases the lock


def _open_lock_file(data_dir: Path) -> int:
    if data_dir.exists() and not data_dir.is_dir():
        raise ConfigError(f"cannot use data dir {data_dir}: it is a file, not a directory")
    try:
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        return os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as error:
        where = f" ({error.filename})" if error.filename not in (None, str(data_dir)) else ""
        raise ConfigError(f"cannot use data dir {data_dir}: {error.strerror}{where}") from None


@dataclass(frozen=True)
class Holder:
    """The node holding a data dir, as it described itself in the lock file."""

    pid: int | None
    http: str | None

    def __str__(self) -> str:
        pid = f"pid {self.pid if self.pid is not None else 'unknown'}"
        return f"{pid}, {self.http}" if self.http else pid


def current_holder(data_dir: Path) -> Holder | None:
    """Who holds ``data_dir``'s lock now; None when nobody does (nothing is created)."""
    try:
        fd = os.open(data_dir / LOCK_FILE, os.O_RDWR)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_holder(fd)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _read_holder(fd: int) -> Holder:
    """The holder as it wrote itself (``pid 123, http://127.0.0.1:8092``), or what is known."""
    try:
        holder = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except (OSError, ValueError):
        holder = {}
    if not isinstance(holder, dict):
        holder = {}
    pid, http = holder.get("pid"), holder.get("http")
    return Holder(pid if isinstance(pid, int) else None, http if isinstance(http, str) else None)
