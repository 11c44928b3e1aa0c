"""Recording real engine runs into a real SQLite file, then reading them back."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import event

from engine import Run, compile_workflow, dumps
from engine import events as ev
from engine.context import REDACTED, Services
from engine.history import (
    HistoryRecorder,
    HistoryStore,
    content_hash,
    get_run,
    list_runs,
    preview,
)
from engine.history.preview import PREVIEW_CHARS
from tests.history.helpers import (
    RUN_TIMEOUT_S,
    SECRET,
    loop_workflow,
    record,
    registry,
    workflow,
)

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def store(tmp_path: Path):
    with HistoryStore.open(tmp_path / "history.db") as opened:
        yield opened


@pytest.mark.asyncio
async def test_a_loop_run_is_recorded_with_every_node_and_iteration(store, tmp_path):
    wf = loop_workflow([1, 2, 3])
    path = tmp_path / "loop.loom.json"
    result, _ = await record(store, wf, path)
    assert result.status == "succeeded"

    [run] = list_runs(store)
    assert run.id == result.run_id
    assert run.status == "succeeded"
    assert run.workflow == str(path.resolve())
    assert run.workflow_name == "loop"
    assert run.content_hash == content_hash(dumps(wf))
    assert run.inputs == {"items": [1, 2, 3]}
    assert run.started_at <= run.ended_at
    assert run.duration_s == pytest.approx(result.duration_s)

    rows = {(n.node_id, n.iteration): n for n in run.nodes}
    for i in range(3):
        assert rows[("triple", (i,))].status == "succeeded"
        assert rows[("pause", (i,))].status == "succeeded"
    assert rows[("each", ())].status == "succeeded"
    assert rows[("small", ())].status == "skipped"
    assert "branch 'false'" in rows[("small", ())].reason
    assert rows[("big", ())].status == "succeeded"
    for row in run.nodes:
        if row.status == "succeeded":
            assert row.attempts == 1
            assert run.started_at - 1e-6 <= row.started_at <= row.ended_at
            assert row.ended_at <= run.ended_at + 1e-6
            assert row.duration_s == pytest.approx(row.ended_at - row.started_at, abs=1e-6)
    # the delay really took its time, and the loop node spans its body
    assert rows[("pause", (0,))].duration_s >= 0.004
    each = rows[("each", ())]
    assert each.started_at <= rows[("triple", (0,))].started_at
    assert each.ended_at >= rows[("pause", (2,))].ended_at

    # the per-node summary sums iterations, like the engine's own RunResult
    summary = run.per_node()
    assert summary["pause"].executions == 3
    assert summary["pause"].duration_s == pytest.approx(
        sum(rows[("pause", (i,))].duration_s for i in range(3)))
    assert summary["pause"].attempts == result.nodes["pause"].attempts == 3

    detail = get_run(store, run.id)
    assert json.loads(detail.outputs_preview) == {"answer": "big 18"}
    outputs = {(o.node_id, o.iteration): o.preview for o in detail.outputs}
    assert json.loads(outputs[("triple", (2,))]) == {"out": 9}
    assert json.loads(outputs[("each", ())]) == {"results": [3, 6, 9]}


@pytest.mark.asyncio
async def test_the_run_row_is_written_as_running_while_the_run_goes(store, tmp_path):
    wf = workflow({"wait": ("util.delay", {"seconds": 0.6})}, [])
    run = Run(compile_workflow(wf, registry()))
    recorder = HistoryRecorder(store, tmp_path / "wait.loom.json",
                               flush_interval_s=0.05).attach(run)
    seen: list[tuple[str, list[str]]] = []

    async def watch() -> None:
        while not seen or seen[-1][0] == "running":
            found = await asyncio.to_thread(list_runs, store)
            if found:
                seen.append((found[0].status, [n.status for n in found[0].nodes]))
            await asyncio.sleep(0.02)

    async with asyncio.timeout(RUN_TIMEOUT_S):
        await asyncio.gather(run.execute(), watch())
    await recorder.aclose()
    assert ("running", ["running"]) in seen
    assert seen[-1] == ("succeeded", ["succeeded"])


@pytest.mark.asyncio
async def test_events_are_written_in_a_few_batched_transactions_off_the_loop(store, tmp_path):
    commits: list[int] = []
    event.listen(store.engine, "commit", lambda conn: commits.append(threading.get_ident()))
    events: list[object] = []
    # Time-triggered flushes are pushed out of reach so the count does not depend on how
    # busy the machine is: only the start, size-triggered (500 events) and final writes remain.
    result, recorder = await record(store, loop_workflow(list(range(150)), delay_s=0),
                                    tmp_path / "many.loom.json", events=events,
                                    flush_interval_s=3600)
    assert result.status == "succeeded"
    assert len(events) > 600
    # at most: start, finish, and one per 500 events; the writer may coalesce them into fewer
    assert 1 <= len(commits) <= 2 + len(events) // 500 + 1, commits
    assert len(events) / len(commits) > 75
    assert threading.get_ident() not in commits  # never written from the loop thread
    assert recorder.failed_writes == 0
    [run] = list_runs(store)
    assert len(run.nodes) == 150 * 2 + 8  # two body nodes per item + eight top-level nodes


@pytest.mark.asyncio
async def test_retries_failures_and_errors_are_recorded(store, tmp_path):
    wf = workflow({
        "flaky": ("test.flaky", {"fail_times": 1},
                  {"retry": {"max_attempts": 3, "backoff_s": 0.001}}),
        "doomed": ("test.flaky", {"fail_times": 5},
                   {"retry": {"max_attempts": 2, "backoff_s": 0.001}}),
        "after": ("data.expression", {"expr": "x"}),
    }, ["doomed.out -> after.x"])
    result, _ = await record(store, wf, tmp_path / "flaky.loom.json")
    assert result.status == "failed"
    detail = get_run(store, result.run_id)
    assert detail.status == "failed"
    assert "doomed" in detail.error
    nodes = {n.node_id: n for n in detail.nodes}
    assert (nodes["flaky"].status, nodes["flaky"].attempts, nodes["flaky"].retries) == (
        "succeeded", 2, 1)
    assert nodes["flaky"].error is None
    assert (nodes["doomed"].status, nodes["doomed"].attempts, nodes["doomed"].retries) == (
        "failed", 2, 1)
    assert nodes["doomed"].error == "flaky failure on attempt 2"
    assert nodes["after"].status == "skipped"
    retry_logs = [line for line in detail.logs if line.level == "warning"]
    assert {line.node_id for line in retry_logs} == {"flaky", "doomed"}
    assert all("attempt 1 failed: flaky failure on attempt 1" in line.message
               for line in retry_logs)


@pytest.mark.asyncio
async def test_a_cancelled_run_is_recorded_as_cancelled(store, tmp_path):
    wf = workflow({"slow": ("util.delay", {"seconds": 30}),
                   "next": ("data.expression", {"expr": "x"})}, ["slow.out -> next.x"])
    run = Run(compile_workflow(wf, registry()))
    recorder = HistoryRecorder(store, tmp_path / "slow.loom.json").attach(run)
    run.subscribe(lambda e: isinstance(e, ev.NodeStarted) and run.cancel())
    async with asyncio.timeout(RUN_TIMEOUT_S):
        result = await run.execute()
    await recorder.aclose()
    assert result.status == "cancelled"
    detail = get_run(store, run.run_id)
    assert detail.status == "cancelled"
    assert {n.node_id: n.status for n in detail.nodes} == {"slow": "cancelled",
                                                          "next": "cancelled"}


@pytest.mark.asyncio
async def test_secrets_never_reach_the_database(tmp_path):
    db = tmp_path / "history.db"
    wf = workflow({"ok": ("test.use_secret", {}),
                   "bad": ("test.use_secret", {"fail": True})}, [])
    with HistoryStore.open(db) as store:
        result, _ = await record(store, wf, tmp_path / "secret.loom.json",
                                 services=Services(secrets=lambda name: SECRET))
        detail = get_run(store, result.run_id)
    assert result.status == "failed"
    # the recorded log, error and output previews show the redaction mark instead
    assert any(REDACTED in line.message for line in detail.logs)
    assert REDACTED in {n.node_id: n for n in detail.nodes}["bad"].error
    assert REDACTED in detail.outputs[0].preview
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("history"))
    assert b"calling the API" in raw  # the log line is there...
    assert SECRET.encode() not in raw  # ...without the secret


@pytest.mark.asyncio
async def test_big_outputs_and_logs_are_stored_as_capped_previews(store, tmp_path):
    wf = workflow({"big": ("test.big", {"size": 50_000})}, [])
    result, _ = await record(store, wf, tmp_path / "big.loom.json")
    detail = get_run(store, result.run_id)
    [out] = detail.outputs
    assert out.truncated
    assert len(out.preview) == PREVIEW_CHARS
    assert out.preview.startswith('{"out": [0, 1, 2, 3')
    [line] = detail.logs
    assert 0 < len(line.message) < 10_000


def test_preview_falls_back_to_repr_and_marks_cuts():
    looped: list[object] = []
    looped.append(looped)
    text, cut = preview({"loop": looped})
    assert "loop" in text and cut  # the cycle is cut at the depth limit
    assert preview({"when": {1, 2}}) == ('{"when": "{1, 2}"}', False)
    text, cut = preview("y" * 5000, limit=100)
    assert (len(text), cut) == (100, True)


@pytest.mark.asyncio
async def test_a_recorder_with_a_broken_database_never_breaks_the_run(tmp_path, caplog):
    store = HistoryStore.open(tmp_path / "history.db")
    store.engine.dispose()
    (tmp_path / "history.db").unlink()
    (tmp_path / "history.db").mkdir()  # every connection now fails
    result, recorder = await record(store, loop_workflow([1, 2]), tmp_path / "x.loom.json")
    assert result.status == "succeeded"
    assert recorder.failed_writes >= 1
    assert "could not record run" in caplog.text


@pytest.mark.asyncio
async def test_a_run_waiting_without_events_does_not_write_on_every_tick(store, tmp_path):
    commits: list[int] = []
    event.listen(store.engine, "commit", lambda conn: commits.append(1))
    wf = workflow({"wait": ("util.delay", {"seconds": 0.5})}, [])
    result, _ = await record(store, wf, tmp_path / "idle.loom.json", flush_interval_s=0.01)
    assert result.status == "succeeded"
    assert 2 <= len(commits) <= 4  # start (+ the node starting), finish; not ~50 idle ticks


def test_the_history_package_and_its_commands_load_no_qt():
    code = ("import sys, engine.history, builder.cli_history; "
            "sys.exit(any(m.split('.')[0] in ('PySide6', 'qasync', 'pyqtgraph') "
            "for m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parents[2],
                          timeout=60).returncode == 0
