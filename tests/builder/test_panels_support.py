"""Helpers for the run-panel tests (no tests here): run real example workflows and record
their event batches, optionally feeding a RunPanels live and recording into a history DB."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from engine import Compiled, Run, RunResult, compile_workflow, dumps, load
from engine.history import HistoryRecorder, HistoryStore
from nodes import default_registry

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"
RUN_TIMEOUT_S = 20.0


def compile_file(path: Path) -> Compiled:
    loaded = load(path)
    assert not loaded.errors, loaded.errors
    return compile_workflow(loaded.workflow, default_registry(plugins=False))


def record(loop: asyncio.AbstractEventLoop, compiled: Compiled, *, panels: Any = None,
           store: HistoryStore | None = None, path: Path | None = None,
           inputs: dict[str, Any] | None = None) -> tuple[list[list[Any]], RunResult]:
    """Run `compiled` on `loop`, returning its event batches (as delivered) and the result.

    With `panels`, each batch is fed to it live (so its timer redraws during the run); with
    `store`, the run is recorded into the history like an editor run."""
    batches: list[list[Any]] = []
    run = Run(compiled, inputs)
    run.subscribe(batches.append, batched=True)
    if panels is not None:
        panels.on_run_started(compiled, run.run_id)
        run.subscribe(panels.on_events, batched=True)
    recorder = None
    if store is not None:
        recorder = HistoryRecorder(store, path, dumps(compiled.workflow)).attach(run)

    async def go() -> RunResult:
        result = await asyncio.wait_for(run.execute(), RUN_TIMEOUT_S)
        if recorder is not None:
            await recorder.aclose()
        return result

    result = loop.run_until_complete(go())
    if panels is not None:
        panels.on_run_finished(result)
    return batches, result


def flat(batches: list[list[Any]]) -> list[Any]:
    return [e for batch in batches for e in batch]
