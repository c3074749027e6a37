"""``QuickLock``: trio.Lock's exclusion and hand-over, without a yield when it is free."""

import pytest
import trio
import trio.testing

from computemesh.p2p.quick_locks import QuickLock


async def test_a_free_lock_is_taken_without_yielding() -> None:
    lock = QuickLock()
    ran: list[str] = []

    async def other() -> None:
        ran.append("other")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(other)
        async with lock:
            assert lock.locked()
            assert ran == []  # no other task ran while the lock was taken
    assert not lock.locked()


async def test_waiters_get_the_lock_in_arrival_order_one_at_a_time() -> None:
    lock = QuickLock()
    inside: list[str] = []
    order: list[str] = []

    async def use(name: str) -> None:
        async with lock:
            inside.append(name)
            assert len(inside) == 1, inside
            order.append(name)
            await trio.sleep(0.01)
            inside.remove(name)

    async with trio.open_nursery() as nursery:
        for name in ("a", "b", "c"):
            nursery.start_soon(use, name)
            await trio.testing.wait_all_tasks_blocked()
    assert order == ["a", "b", "c"]


async def test_a_waiter_cancelled_while_waiting_never_holds_the_lock() -> None:
    lock = QuickLock()
    await lock.acquire()
    with trio.move_on_after(0.05) as waited:
        await lock.acquire()
    assert waited.cancelled_caught
    lock.release()
    assert not lock.locked()  # handed to nobody: the cancelled waiter left the queue
    async with lock:
        pass


async def test_only_the_owner_can_release() -> None:
    lock = QuickLock()
    await lock.acquire()

    async def release_elsewhere() -> None:
        with pytest.raises(RuntimeError):
            lock.release()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(release_elsewhere)
    lock.release()
