"""Every example workflow under resources/examples loads without problems and runs to success."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from engine import Run, compile_workflow, load
from engine import events as ev
from nodes import default_registry

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "resources" / "examples")
                  .glob("*.loom.json"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_the_example_loads_cleanly_and_runs_to_success(path):
    registry = default_registry()
    loaded = load(path, registry)
    assert [str(p) for p in loaded.problems] == []
    assert loaded.workflow.description, "an example says what it shows"
    run = Run(compile_workflow(loaded.workflow, registry))
    events: list = []
    run.subscribe(events.append)

    async def go():
        async with asyncio.timeout(30):
            return await run.execute()

    result = asyncio.run(go())
    assert result.status == "succeeded", result.error
    assert result.outputs, "an example produces at least one output"
    assert isinstance(events[-1], ev.RunFinished) and events[-1].outputs == result.outputs
