"""The run-wide concurrency cap (`flowloom run --concurrency N`): a slot count shared by a run
and every sub-workflow run it starts.

A node takes a slot for as long as it runs (`async with cap:`). A node that only waits for work
which takes slots of its own (a `flow.subworkflow` waiting for its child run) lends its slot
back for that wait (`async with cap.lent():`) and takes one again before it goes on, so a child
run can never wait for a slot its own parent holds: with `--concurrency 1` the parent and the
child's nodes take turns instead of deadlocking. Loop nodes never take a slot (engine/attempts.py):
their bodies' nodes do. Waiting nodes are let in by priority (`async with cap.at(priority):`,
engine/slots.py), highest first, in the order they came among equals.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any

from engine.slots import Slots

__all__ = ["Cap"]


class Cap:
    """At most `limit` slots held at once; a task holds at most one (nesting reuses it)."""

    __slots__ = ("limit", "_sem", "_holders", "_priorities")

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"the concurrency cap must be at least 1, got {limit}")
        self.limit = limit
        self._sem = Slots(limit)
        self._holders: dict[asyncio.Task[Any], int] = {}  # task -> nesting depth
        self._priorities: dict[asyncio.Task[Any], int] = {}  # task -> its place in the queue

    @property
    def in_use(self) -> int:
        return len(self._holders)

    async def __aenter__(self) -> Cap:
        return await self._enter(0)

    def at(self, priority: int) -> AbstractAsyncContextManager[Any]:
        """`async with cap.at(priority):` — as `async with cap:`, waiting in priority order."""
        return _At(self, priority)

    async def _enter(self, priority: int) -> Cap:
        task = asyncio.current_task()
        assert task is not None
        depth = self._holders.get(task)
        if depth:  # the same task cannot run two things at once: it already has its slot
            self._holders[task] = depth + 1
            return self
        await self._sem.acquire(priority)
        self._holders[task] = 1
        self._priorities[task] = priority
        return self

    async def __aexit__(self, *exc: object) -> None:
        task = asyncio.current_task()
        depth = self._holders.get(task)  # type: ignore[arg-type]
        if depth is None:  # lent and not taken back (the wait was cancelled or failed)
            return
        if depth > 1:
            self._holders[task] = depth - 1  # type: ignore[index]
            return
        del self._holders[task]  # type: ignore[arg-type]
        self._priorities.pop(task, None)  # type: ignore[arg-type]
        self._sem.release()

    @contextlib.asynccontextmanager
    async def lent(self) -> AsyncIterator[None]:
        """Give this task's slot back while the block waits; take one again afterwards.

        If the block ends with an exception (a cancellation, a child's failure) the slot is not
        taken again: the node is ending, and waiting for a slot then would only delay that."""
        task = asyncio.current_task()
        depth = self._holders.pop(task, None)  # type: ignore[arg-type]
        if depth is None:
            yield
            return
        self._sem.release()
        yield
        await self._sem.acquire(self._priorities.get(task, 0))  # type: ignore[arg-type]
        self._holders[task] = depth  # type: ignore[index]


class _At:
    """`Cap.at(priority)`: enter the cap in priority order."""

    __slots__ = ("_cap", "_priority")

    def __init__(self, cap: Cap, priority: int) -> None:
        self._cap, self._priority = cap, priority

    async def __aenter__(self) -> Cap:
        return await self._cap._enter(self._priority)

    async def __aexit__(self, *exc: object) -> None:
        await self._cap.__aexit__(*exc)
