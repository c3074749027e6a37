"""Routing statistics forget providers this node no longer uses (routing.stats)."""

from computemesh.ids import PeerId
from computemesh.routing.stats import ProviderStats

GONE, BUSY, FLAKY, ACTIVE = (PeerId(name) for name in ("gone", "busy", "flaky", "active"))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_provider_not_used_for_a_while_is_forgotten() -> None:
    clock = Clock()
    stats = ProviderStats(forget_after=600.0, clock=clock)
    stats.answered(GONE, 5.0)
    stats.failed(FLAKY, clock.now)
    stats.begin(BUSY)  # a long stream, still in flight
    stats.answered(BUSY, 0.2)

    clock.now += 601.0
    stats.answered(ACTIVE, 0.1)

    # Unforgotten, GONE's 5 s would stay in the median that unmeasured providers get.
    assert set(stats.latency_s) == {BUSY, ACTIVE}
    assert not stats.cooling(FLAKY, clock.now)
    assert stats._failures == {}
    assert set(stats._used_at) == {BUSY, ACTIVE}
    assert stats.inflight[BUSY] == 1


def test_a_provider_in_use_is_kept() -> None:
    clock = Clock()
    stats = ProviderStats(forget_after=600.0, clock=clock)
    for _ in range(10):
        stats.answered(ACTIVE, 0.1)
        clock.now += 300.0
    assert ACTIVE in stats.latency_s


def test_a_provider_still_cooling_down_is_kept() -> None:
    clock = Clock()
    stats = ProviderStats(
        cooldown_initial=1000.0, cooldown_max=1000.0, forget_after=600.0, clock=clock
    )
    stats.failed(FLAKY, clock.now)
    clock.now += 601.0
    stats.answered(ACTIVE, 0.1)
    assert stats.cooling(FLAKY, clock.now)
