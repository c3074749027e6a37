"""Show a model loading: a rich spinner for terminals, nothing for library use."""

import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

from rich.console import Console

from computemesh.inference.spec import ModelSpec


class LoadProgress(Protocol):
    """Wraps the load of one model; exceptions propagate after being shown."""

    def loading(self, spec: ModelSpec) -> AbstractContextManager[None]: ...


class NoProgress:
    """Library default: load silently."""

    @contextmanager
    def loading(self, spec: ModelSpec) -> Iterator[None]:
        yield


def _size(spec: ModelSpec) -> str:
    try:
        return f"{spec.path.stat().st_size / 1e6:.0f} MB"
    except OSError:
        return "? MB"


class RichProgress:
    """A spinner with elapsed time while a model loads, then one line with the outcome."""

    def __init__(self, console: Console | None = None) -> None:
        self._console = console or Console(stderr=True)

    @contextmanager
    def loading(self, spec: ModelSpec) -> Iterator[None]:
        label = f"{spec.model_id} ({spec.kind}, {_size(spec)}) from {spec.path}"
        started = time.perf_counter()
        try:
            with self._console.status(f"[bold]Loading[/] {label}", spinner="dots"):
                yield
        except Exception as exc:
            self._console.print(f"[red]✗[/] {label}: {exc}")
            raise
        elapsed = time.perf_counter() - started
        self._console.print(f"[green]✓[/] loaded {label} in {elapsed:.2f} s")
