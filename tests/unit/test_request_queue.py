"""``RequestQueue``: bounded, in order, and yielding only when a side must wait."""

import trio
import trio.testing

from computemesh.p2phttp.request_queue import RequestQueue
from tests.support.task_steps import TaskSteps


async def test_items_come_out_in_order_and_a_full_queue_holds_the_producer() -> None:
    queue = RequestQueue[int](2)
    got: list[int] = []

    async def produce() -> None:
        for item in range(5):
            await queue.put(item)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(produce)
        await trio.testing.wait_all_tasks_blocked()
        assert len(queue) == 2  # the producer waits for room
        for _ in range(5):
            got.append(await queue.get())
    assert got == [0, 1, 2, 3, 4]


async def test_a_consumer_waits_for_the_next_item() -> None:
    queue = RequestQueue[str](8)
    async with trio.open_nursery() as nursery:

        async def later() -> None:
            await trio.sleep(0.02)
            await queue.put("late")

        nursery.start_soon(later)
        assert await queue.get() == "late"


async def test_put_and_get_that_need_not_wait_do_not_yield() -> None:
    queue = RequestQueue[int](8)
    steps = TaskSteps()
    trio.lowlevel.add_instrument(steps)
    try:
        for item in range(4):
            await queue.put(item)
        assert [await queue.get() for _ in range(4)] == [0, 1, 2, 3]
    finally:
        trio.lowlevel.remove_instrument(steps)
    assert steps.count == 0
