"""Shared by the breakpoint tests: run a workflow with a gate whose host follows a script."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from engine import Run, RunResult, Workflow
from engine.breakpoints import Breakpoint, PauseGate, Resume, Stop
from engine.context import Services
from tests.engine.helpers import Probe, compile_test

RUN_TIMEOUT_S = 20.0


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait (yielding to the loop) until `condition()` holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        await asyncio.sleep(0.005)


@dataclass
class Host:
    """A host that answers each stop with the next of `answers` (a Resume, or an async
    function of the stop and the run returning one); it records every stop it was shown."""

    answers: list[Resume | Callable[[Stop, Run], Awaitable[Resume]]]
    stops: list[Stop] = field(default_factory=list)
    run: Run | None = None

    async def decide(self, stop: Stop) -> Resume:
        self.stops.append(stop)
        answer = self.answers.pop(0) if self.answers else Resume()
        if callable(answer):
            assert self.run is not None
            return await answer(stop, self.run)
        return answer


@dataclass
class Paused:
    result: RunResult
    host: Host
    events: list[Any]
    gate: PauseGate


def run_with(wf: Workflow, breakpoints: list[Breakpoint], answers: list[Any],
             mode: str = "branch", inputs: dict[str, Any] | None = None,
             secret: str = "") -> Paused:
    """Run `wf` with a gate; `secret`: a value the run treats as a secret read (masked)."""
    async def go() -> Paused:
        host = Host(list(answers))
        run = Run(compile_test(wf), inputs, services=Services(extra={"probe": Probe()}))
        host.run = run
        run.add_secret(secret)
        gate = PauseGate(breakpoints, host.decide, mode).attach(run)
        events: list[Any] = []
        run.subscribe(events.append)
        async with asyncio.timeout(RUN_TIMEOUT_S):
            result = await run.execute()
        return Paused(result, host, events, gate)

    return asyncio.run(go())
