"""What the dispatcher tells whoever watches it (the node's metrics); nobody by default.

A ``DispatchTrace`` follows one request through its attempts; the observer hears of
each cool-down and of the end (the answer, or ``None`` when no provider answered).
Kept out of the dispatcher's logic: two calls per request, and nothing when unobserved.
"""

from dataclasses import dataclass
from typing import Protocol

from computemesh.routing.candidates import Candidate, Fields
from computemesh.routing.forwarder import Forwarded


@dataclass(slots=True)
class DispatchTrace:
    service: str
    fields: Fields
    started: float
    """``time.monotonic()`` when the dispatch began."""
    candidates: int = 0
    attempts: int = 0
    provider: Candidate | None = None
    """The provider tried last (the one that answered, on success)."""


class DispatchObserver(Protocol):
    def cooled_down(self, trace: DispatchTrace, provider: Candidate) -> None: ...

    def finished(self, trace: DispatchTrace, answer: Forwarded | None) -> None: ...


class Unobserved:
    def cooled_down(self, trace: DispatchTrace, provider: Candidate) -> None:
        return None

    def finished(self, trace: DispatchTrace, answer: Forwarded | None) -> None:
        return None
