"""engine/slots.py: priority-ordered slots, shared pools, per-host limits."""

from __future__ import annotations

import asyncio

import pytest

from engine.slots import HostSlots, Pools, Slots, server_host


async def _until(condition, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.001)


@pytest.mark.asyncio
async def test_freed_slots_go_to_the_highest_priority_waiter_first():
    async with asyncio.timeout(10):
        slots = Slots(1)
        order: list[str] = []
        await slots.acquire()  # held, so everyone below waits

        async def waiter(name: str, priority: int) -> None:
            async with slots.hold(priority):
                order.append(name)

        async with asyncio.TaskGroup() as tg:
            for name, priority in [("low", 0), ("high", 5), ("mid", 2), ("low2", 0),
                                   ("high2", 5)]:
                tg.create_task(waiter(name, priority))
                await asyncio.sleep(0)  # each one queues before the next is made
            await _until(lambda: slots.waiting == 5)
            slots.release()
        assert order == ["high", "high2", "mid", "low", "low2"]
        assert slots.held == 0


@pytest.mark.asyncio
async def test_at_most_size_holders_at_once():
    async with asyncio.timeout(10):
        slots = Slots(2)
        inside = peak = 0

        async def work() -> None:
            nonlocal inside, peak
            async with slots.hold():
                inside += 1
                peak = max(peak, inside)
                await asyncio.sleep(0.01)
                inside -= 1

        async with asyncio.TaskGroup() as tg:
            for _ in range(7):
                tg.create_task(work())
        assert peak == 2 and slots.held == 0


@pytest.mark.asyncio
async def test_a_cancelled_waiter_loses_no_slot():
    async with asyncio.timeout(10):
        slots = Slots(1)
        await slots.acquire()
        gone = asyncio.create_task(slots.acquire(9))
        await _until(lambda: slots.waiting == 1)
        gone.cancel()
        with pytest.raises(asyncio.CancelledError):
            await gone
        slots.release()
        assert slots.held == 0
        await slots.acquire()  # the slot is there for the next one
        assert slots.held == 1


@pytest.mark.asyncio
async def test_a_waiter_cancelled_as_its_slot_arrives_passes_it_on():
    async with asyncio.timeout(10):
        slots = Slots(1)
        await slots.acquire()
        first = asyncio.create_task(slots.acquire(1))
        second = asyncio.create_task(slots.acquire(0))
        await _until(lambda: slots.waiting == 2)
        slots.release()  # handed to `first` ...
        first.cancel()  # ... which is cancelled before it runs
        with pytest.raises(asyncio.CancelledError):
            await first
        await second
        assert slots.held == 1


def test_bad_sizes_and_extra_releases_are_refused():
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="at least 1"):
            Slots(bad)
    with pytest.raises(RuntimeError):
        Slots(1).release()


def test_pools_keep_the_first_size_given_for_a_name():
    pools = Pools({"llm": 2})
    first = pools.get("llm")
    pools.add({"llm": 5, "github": 4})
    assert pools.get("llm") is first and first.size == 2
    assert pools.get("github").size == 4
    assert "github" in pools and "other" not in pools


def test_host_slots_are_keyed_by_host_and_port_and_shared():
    hosts = HostSlots({"http://127.0.0.1:11434": 1, "localhost:8000": 3})
    assert server_host("http://127.0.0.1:11434/v1") == "127.0.0.1:11434"
    assert server_host("https://API.example.com") == "api.example.com:443"
    one = hosts.for_url("http://127.0.0.1:11434/v1")
    assert one is not None and one.size == 1
    assert hosts.for_url("http://127.0.0.1:11434") is one
    assert hosts.for_url("http://localhost:8000/v1").size == 3
    assert hosts.for_url("http://127.0.0.1:9999") is None
