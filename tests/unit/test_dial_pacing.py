"""The dial pacer (p2p.dial_pacing), on trio's virtual clock: how many start, and when."""

import itertools

import pytest
import trio
import trio.testing

from computemesh.p2p.dial_pacing import DialPacer


async def starts(pacer: DialPacer, callers: int, within: float) -> list[float]:
    """When each of ``callers`` concurrent attempts got its slot (relative times)."""
    began = trio.current_time()
    times: list[float] = []

    async def attempt() -> None:
        await pacer.slot()
        times.append(trio.current_time() - began)

    with trio.move_on_after(within):
        async with trio.open_nursery() as nursery:
            for _ in range(callers):
                nursery.start_soon(attempt)
    return sorted(times)


@pytest.fixture
def autojump_clock() -> trio.testing.MockClock:
    return trio.testing.MockClock(autojump_threshold=0)


async def test_a_burst_starts_at_once_and_the_rest_at_the_rate(
    autojump_clock: trio.testing.MockClock,
) -> None:
    times = await starts(DialPacer(rate=5.0, burst=10), callers=100, within=3.9)
    assert times[:10] == [0.0] * 10
    # Then one every 0.2 s: at 0.2, 0.4, ... 3.8.
    assert len(times) == 10 + 19
    assert all(b - a == pytest.approx(0.2) for a, b in itertools.pairwise(times[9:]))


async def test_in_any_window_no_more_than_burst_plus_rate_times_its_length_start(
    autojump_clock: trio.testing.MockClock,
) -> None:
    pacer = DialPacer(rate=2.0, burst=3)
    times = await starts(pacer, callers=5, within=60.0)
    await trio.sleep(10)  # idle: the burst comes back, and no more
    later = [t + 10 for t in await starts(pacer, callers=10, within=60.0)]
    everything = times + later
    for i, start in enumerate(everything):
        window = [t for t in everything[i:] if t - start <= 1.0]
        assert len(window) <= 3 + 2 * 1.0


async def test_an_attempt_cancelled_while_waiting_keeps_the_bound(
    autojump_clock: trio.testing.MockClock,
) -> None:
    pacer = DialPacer(rate=1.0, burst=1)
    await pacer.slot()
    with trio.move_on_after(0.5):
        await pacer.slot()  # would start at 1.0; given up at 0.5
    began = trio.current_time()
    await pacer.slot()
    assert trio.current_time() - began == pytest.approx(1.5)


def test_a_rate_or_burst_that_allows_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        DialPacer(rate=0.0, burst=5)
    with pytest.raises(ValueError, match="positive"):
        DialPacer(rate=1.0, burst=0)
