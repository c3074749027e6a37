"""The OpenAI surface's answers, per model: end-to-end time, first token, tokens/s, tokens.

Called when an answer ends (its response closes). The model is one the node table
lists (the surface answered 404 to any other before it got here).
"""

import time
from collections.abc import Mapping
from typing import Any

from computemesh.node.api.metrics.instruments import NodeMetrics


def answered(
    metrics: NodeMetrics,
    model: str,
    started: float,
    first_token_at: float | None,
    usage: Mapping[str, Any] | None,
) -> None:
    """One answer of ``model`` ended now; ``started`` and ``first_token_at`` are monotonic."""
    if not metrics.enabled:
        return
    now = time.monotonic()
    metrics.inference_duration.labels(model).observe(now - started)
    if first_token_at is not None:
        metrics.first_token.labels(model).observe(first_token_at - started)
    prompt, completion = _count(usage, "prompt_tokens"), _count(usage, "completion_tokens")
    if prompt:
        metrics.tokens.labels(model, "prompt").inc(prompt)
    if completion:
        metrics.tokens.labels(model, "completion").inc(completion)
        generating = now - (first_token_at if first_token_at is not None else started)
        if generating > 0:
            metrics.tokens_per_second.labels(model).observe(completion / generating)


def _count(usage: Mapping[str, Any] | None, key: str) -> int:
    value = usage.get(key) if usage else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
