"""SlotGate: the pool's slot accounting under waits, timeouts and cancellation."""

from __future__ import annotations

import asyncio

import pytest

from fasthttp.transport.gate import SlotGate


async def test_fast_path_and_release() -> None:
    """Free slots are taken without waiting and come back on release."""
    gate = SlotGate(2)
    assert gate.try_acquire() and gate.try_acquire()
    assert not gate.try_acquire()
    gate.release()
    assert gate.free == 1


async def test_waiters_are_served_in_order() -> None:
    """Waiters get slots first in, first out, and a newcomer cannot overtake them."""
    gate = SlotGate(1)
    assert gate.try_acquire()
    order: list[int] = []

    async def wait(n: int) -> None:
        assert await gate.acquire(5)
        order.append(n)

    tasks = [asyncio.create_task(wait(n)) for n in range(3)]
    await asyncio.sleep(0)
    assert not gate.try_acquire()  # a newcomer does not jump the queue
    for _ in range(3):
        gate.release()
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2]
    assert gate.free == 0


async def test_timeout_leaves_counts_unchanged() -> None:
    """A wait that times out returns False and takes no slot."""
    gate = SlotGate(1)
    assert gate.try_acquire()
    assert await gate.acquire(0.01) is False
    assert gate.waiting == 0
    gate.release()
    assert gate.free == 1


async def test_cancel_while_waiting() -> None:
    """Cancelling a waiter removes it; later releases go to the free count."""
    gate = SlotGate(1)
    assert gate.try_acquire()
    task = asyncio.create_task(gate.acquire(None))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    gate.release()
    assert gate.free == 1 and gate.waiting == 0


async def test_cancel_after_the_slot_was_handed_over() -> None:
    """A waiter cancelled in the same instant it was granted a slot passes the slot on."""
    gate = SlotGate(1)
    assert gate.try_acquire()
    task = asyncio.create_task(gate.acquire(None))
    await asyncio.sleep(0)
    gate.release()  # hands the slot to the waiter...
    task.cancel()  # ...which is cancelled before it runs
    with pytest.raises(asyncio.CancelledError):
        await task
    assert gate.free == 1
