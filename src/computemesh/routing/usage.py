"""Tokens of the answers this node relayed to its own clients, per model, read off ``usage``.

The OpenAI surface asks every provider for ``usage`` (in a stream's last chunk too) and
records it here when the answer ends; an answer without ``usage`` still counts as a
request. Kept in memory for the life of the process, as OffGrid's statistics are.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass
class ModelUsage:
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class UsageMeter:
    def __init__(self) -> None:
        self.models: dict[str, ModelUsage] = {}

    def record(self, model: str, usage: Mapping[str, Any] | None) -> None:
        """One answer of ``model``; ``usage`` is the provider's, or None if it sent none."""
        counted = self.models.setdefault(model, ModelUsage())
        counted.requests += 1
        if usage:
            counted.prompt_tokens += _count(usage.get("prompt_tokens"))
            counted.completion_tokens += _count(usage.get("completion_tokens"))

    @property
    def requests(self) -> int:
        return sum(m.requests for m in self.models.values())

    @property
    def total_tokens(self) -> int:
        return sum(m.total_tokens for m in self.models.values())


def _count(value: Any) -> int:
    # A provider's usage is its word, not ours: anything but a count is no count.
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
