"""Supervised background loops: one that raises is logged and restarted, never fatal."""

import itertools
import logging

import pytest
import trio
import trio.testing

from computemesh.supervise import contain, supervise


async def test_a_loop_that_raises_is_logged_and_restarted(caplog: pytest.LogCaptureFixture) -> None:
    runs: list[int] = []
    third_run = trio.Event()

    async def flaky() -> None:
        runs.append(len(runs))
        if len(runs) < 3:
            raise ValueError(f"broken run {len(runs)}")
        third_run.set()
        await trio.sleep_forever()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(lambda: supervise("flaky", flaky, first_pause=0.01))
        with trio.fail_after(5):
            await third_run.wait()
        nursery.cancel_scope.cancel()  # cancellation still ends it
    assert runs == [0, 1, 2]
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.exc_info[1].args[0] for r in failures if r.exc_info and r.exc_info[1]] == [
        "broken run 1",
        "broken run 2",
    ]
    assert "flaky" in failures[0].getMessage()


@pytest.fixture
def autojump_clock() -> trio.testing.MockClock:
    """Virtual time (pytest-trio runs the test on this clock): pauses are exact, not
    stretched by a loaded machine."""
    return trio.testing.MockClock(autojump_threshold=0)


async def test_the_pause_grows_while_the_loop_keeps_failing(
    autojump_clock: trio.testing.MockClock,
) -> None:
    times: list[float] = []

    async def broken() -> None:
        times.append(trio.current_time())
        raise RuntimeError("always")

    with trio.move_on_after(0.75):
        await supervise("broken", broken, first_pause=0.1, max_pause=0.2)
    gaps = [round(b - a, 3) for a, b in itertools.pairwise(times)]
    assert gaps[:3] == [0.1, 0.2, 0.2]


async def test_a_loop_that_returns_is_done() -> None:
    runs: list[int] = []

    async def once() -> None:
        runs.append(1)

    await supervise("once", once)
    assert runs == [1]


async def test_a_contained_task_fails_alone(caplog: pytest.LogCaptureFixture) -> None:
    async def broken() -> None:
        raise KeyError("gone")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(contain, "exchange", broken)
    assert "background task exchange failed" in caplog.text
