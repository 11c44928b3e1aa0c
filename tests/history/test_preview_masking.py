"""The recorder skips redacting output previews only while the run has read no secret
(issue 17, fifth pass): once it has, every preview it writes is masked, as before."""

from __future__ import annotations

import asyncio
from pathlib import Path

from engine import Node, Run, Workflow, compile_workflow
from engine.history import HistoryStore, get_run
from engine.history.lite import LiteStore
from engine.history.recorder import HistoryRecorder
from nodes import default_registry

SECRET = "tok-5a4b3c2d1e-secret"


def _previews(db: Path, masked: bool) -> list[str]:
    workflow = Workflow("w", nodes=[Node("n", "data.value", params={"value": "x"})])
    run = Run(compile_workflow(workflow, default_registry(plugins=False)))
    if masked:
        run.add_secret(SECRET)
    HistoryStore.open(db).close()
    store = LiteStore.open(db)
    recorder = HistoryRecorder(store, None, "x", own_store=True).attach(run)
    asyncio.run(run.execute())  # the run's row, written and closed
    recorder.close()
    batch = {"insert": None, "nodes": [], "logs": [], "end": None, "run_outputs": None,
             "outputs": [("n", "1", {"out": f"says {SECRET}"}), ("n", "2", {"out": 7}),
                         ("n", "3", {"out": [SECRET]})]}
    store = LiteStore.open(db)
    recorder.store = store
    recorder._write(batch)  # as the writer thread writes a batch
    store.close()
    with HistoryStore.open(db) as history:
        detail = get_run(history, run.run_id)
    return [o.preview for o in sorted(detail.outputs, key=lambda o: o.iteration) if o.iteration]


def test_previews_are_masked_once_the_run_has_read_a_secret(tmp_path):
    previews = _previews(tmp_path / "masked.db", masked=True)
    assert len(previews) == 3 and not any(SECRET in p for p in previews)
    assert previews[1] == '{"out": 7}'


def test_previews_are_kept_as_they_are_while_the_run_has_read_none(tmp_path):
    assert _previews(tmp_path / "plain.db", masked=False) == [
        f'{{"out": "says {SECRET}"}}', '{"out": 7}', f'{{"out": ["{SECRET}"]}}']
