"""Routing strategies: ``random`` (OCF's baseline), ``least-loaded`` and ``p2c``.

``p2c`` is the power of two choices: sample two candidates and take the cheaper,
where cost is (load + 1) * expected latency. A healthy local provider is always one
of the two, so it wins unless it is clearly busier than a remote one.
"""

import random
import statistics
from collections.abc import Sequence
from typing import Literal

from computemesh.routing.candidates import Candidate
from computemesh.routing.stats import ProviderStats

Strategy = Literal["random", "least-loaded", "p2c"]


def choose(
    strategy: Strategy, candidates: Sequence[Candidate], stats: ProviderStats, rng: random.Random
) -> Candidate:
    if len(candidates) == 1 or strategy == "random":
        return rng.choice(candidates)
    if strategy == "least-loaded":
        lowest = min(load(c, stats) for c in candidates)
        return rng.choice([c for c in candidates if load(c, stats) == lowest])
    return _power_of_two(candidates, stats, rng)


def load(candidate: Candidate, stats: ProviderStats) -> int:
    """Requests in flight at the provider: ours, or what it reported if that is more."""
    return max(stats.inflight[candidate.peer], candidate.reported_load)


def _power_of_two(
    candidates: Sequence[Candidate], stats: ProviderStats, rng: random.Random
) -> Candidate:
    local = [c for c in candidates if c.is_local]
    if local:
        others = [c for c in candidates if not c.is_local]
        pair = [local[0], rng.choice(others)] if others else local
    else:
        pair = rng.sample(list(candidates), 2)
    default = _neutral_latency(stats)
    return min(pair, key=lambda c: (load(c, stats) + 1) * _latency(c, stats, default))


def _latency(candidate: Candidate, stats: ProviderStats, default: float) -> float:
    measured = stats.latency_s.get(candidate.peer)
    if measured is not None:
        return measured
    if candidate.ping_ms is not None:
        return default + candidate.ping_ms / 1000
    return default


def _neutral_latency(stats: ProviderStats) -> float:
    """An unmeasured provider is assumed typical, so it gets tried without being favoured."""
    known = list(stats.latency_s.values())
    return statistics.median(known) if known else 0.001
