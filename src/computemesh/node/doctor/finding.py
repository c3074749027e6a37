"""One result of ``computemesh doctor``: a check, how it went, and the fix when it failed."""

from dataclasses import dataclass
from typing import Literal

Outcome = Literal["ok", "fail", "note"]


@dataclass(frozen=True)
class Finding:
    check: str
    outcome: Outcome
    detail: str
    fix: str = ""

    @property
    def failed(self) -> bool:
        return self.outcome == "fail"


def ok(check: str, detail: str) -> Finding:
    return Finding(check, "ok", detail)


def note(check: str, detail: str, fix: str = "") -> Finding:
    """Neither good nor bad: worth knowing (no bootstrap, no public address, ...)."""
    return Finding(check, "note", detail, fix)


def fail(check: str, detail: str, fix: str) -> Finding:
    return Finding(check, "fail", detail, fix)
