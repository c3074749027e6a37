"""How long each local model took to load, kept for ``/metrics``.

Wraps the load progress the daemon is given (the terminal's spinner, or nothing),
so the time is measured around the very same load.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager

from computemesh.inference import LoadProgress, ModelSpec, NoProgress


class LoadTimes:
    def __init__(self, inner: LoadProgress | None = None) -> None:
        self._inner = inner or NoProgress()
        self.seconds: dict[str, float] = {}
        """model id -> seconds its last load took (loads that failed are not kept)."""

    @contextmanager
    def loading(self, spec: ModelSpec) -> Iterator[None]:
        started = time.perf_counter()
        with self._inner.loading(spec):
            yield
        self.seconds[spec.model_id] = time.perf_counter() - started
