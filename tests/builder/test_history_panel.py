"""History dock: real runs recorded into a temporary SQLite history, listed, replayed, compared."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtTest import QTest

from builder.panels import RunPanels
from builder.panels.replay import events_from_history
from engine import events as ev
from engine.history import HistoryStore, get_run, list_runs
from tests.builder.test_panels_support import EXAMPLES, compile_file, flat, record

PARALLEL = EXAMPLES / "parallel.loom.json"
FOREACH = EXAMPLES / "foreach_parallel.loom.json"
_END = (ev.NodeFinished, ev.NodeFailed, ev.NodeSkipped, ev.NodeCancelled)


@pytest.fixture
def recorded(qloop, tmp_path):
    """Three real runs in a fresh history: parallel twice, foreach_parallel once."""
    store = HistoryStore.open(tmp_path / "history.db")
    runs = []
    for path in (PARALLEL, FOREACH, PARALLEL):
        batches, result = record(qloop, compile_file(path), store=store, path=path)
        runs.append((path, flat(batches), result))
    yield store, runs
    store.close()


def _select(qtbot, panel, run_ids):
    panel.runs.clearSelection()
    model = panel.runs.selectionModel()
    for row, rid in enumerate(panel.run_ids()):
        if rid in run_ids:
            model.select(panel.runs.model().index(row, 0),
                         QItemSelectionModel.SelectionFlag.Select
                         | QItemSelectionModel.SelectionFlag.Rows)


def _ends(events):
    return {(e.node_id, e.iteration): type(e).__name__ for e in events if isinstance(e, _END)}


def _starts(events):
    return [(e.node_id, e.iteration) for e in events if isinstance(e, ev.NodeStarted)]


def test_lists_runs_of_this_workflow_newest_first_and_filters(qtbot, recorded):
    store, runs = recorded
    panels = RunPanels()
    qtbot.addWidget(panels.dock("HistoryDock"))
    panels.set_history_store(store)
    panels.set_workflow_path(PARALLEL)
    history = panels.history
    parallel_ids = [r.run_id for p, _, r in runs if p == PARALLEL]
    assert history.run_ids() == parallel_ids[::-1]
    assert history.runs.item(0, 2).text() == "succeeded"
    history.scope_box.setCurrentIndex(history.scope_box.findData("all"))
    assert sorted(history.run_ids()) == sorted(r.run_id for _, _, r in runs)
    assert history.run_ids() == [r.id for r in list_runs(store, with_nodes=False)]
    history.status_box.setCurrentIndex(history.status_box.findData("failed"))
    assert history.run_ids() == []
    panels.set_workflow_path(None)
    history.scope_box.setCurrentIndex(history.scope_box.findData("this"))
    assert history.run_ids() == []  # an unsaved workflow has no runs


def test_opening_a_run_replays_its_events_in_order_with_the_same_statuses(qtbot, recorded):
    store, runs = recorded
    path, original, result = runs[1]  # foreach_parallel: loop iterations, skips in branches
    panels = RunPanels()
    panels.set_history_store(store)
    panels.set_workflow_path(path)
    history = panels.history
    _select(qtbot, history, [result.run_id])
    assert history.open_button.isEnabled()
    with qtbot.waitSignal(panels.replay_requested, timeout=2000) as blocker:
        QTest.mouseClick(history.open_button, Qt.MouseButton.LeftButton)
    events = blocker.args[0]
    assert isinstance(events[0], ev.RunStarted) and events[0].run_id == result.run_id
    assert isinstance(events[-1], ev.RunFinished) and events[-1].status == result.status
    assert _starts(events) == _starts(original)
    assert _ends(events) == _ends(original)
    assert [e.t for e in events] == sorted(e.t for e in events)
    finished = {(e.node_id, e.iteration): e.outputs for e in original
                if isinstance(e, ev.NodeFinished)}
    replayed = {(e.node_id, e.iteration): e.outputs for e in events
                if isinstance(e, ev.NodeFinished)}
    assert replayed[("upper", (1,))] == finished[("upper", (1,))]
    # the panels show the replay like a live run
    panels.play(events, compile_file(path))
    bars = panels.timeline.model.bars
    assert [(b.node_id, b.iteration) for b in bars] == _starts(original)
    assert panels.charts.done.data()[1][-1] == sum(
        isinstance(e, (ev.NodeFinished, ev.NodeFailed)) for e in original)


def test_replay_of_a_failing_run_keeps_failures_and_logs(qtbot, qloop, tmp_path):
    store = HistoryStore.open(tmp_path / "h.db")
    path = EXAMPLES / "errors.loom.json"
    batches, result = record(qloop, compile_file(path), store=store, path=path)
    original = flat(batches)
    events = events_from_history(get_run(store, result.run_id))
    assert _ends(events) == _ends(original)
    assert any(isinstance(e, ev.NodeFailed) for e in events)
    logged = [(e.node_id, e.message) for e in original if isinstance(e, ev.NodeLogged)]
    replayed = [(e.node_id, e.message) for e in events if isinstance(e, ev.NodeLogged)]
    assert all(line in replayed for line in logged)
    # the history keeps each retry as a log line of its node
    retries = [e for e in original if isinstance(e, ev.NodeRetrying)]
    assert retries
    assert sorted(nid for nid, m in replayed if "retrying" in m) == sorted(
        e.node_id for e in retries)
    store.close()


def test_comparing_two_runs_shows_both_statuses_and_durations_per_node(qtbot, recorded):
    store, runs = recorded
    (_, _, first), (_, _, second) = [r for r in runs if r[0] == PARALLEL]
    panels = RunPanels()
    panels.set_history_store(store)
    panels.set_workflow_path(PARALLEL)
    history = panels.history
    _select(qtbot, history, [first.run_id, second.run_id])
    assert history.compare_button.isEnabled() and not history.open_button.isEnabled()
    QTest.mouseClick(history.compare_button, Qt.MouseButton.LeftButton)
    rows = {row[0]: row for row in history.compared_rows()}
    ran = [nid for nid, nr in first.nodes.items() if nr.runs]
    assert set(rows) == set(ran)
    for nid in ran:
        _, status_a, status_b, seconds_a, seconds_b = rows[nid]
        assert (status_a, status_b) == (first.nodes[nid].status, second.nodes[nid].status)
        assert seconds_a == pytest.approx(first.nodes[nid].duration_s, abs=1e-3)
        assert seconds_b == pytest.approx(second.nodes[nid].duration_s, abs=1e-3)
    assert first.run_id in history.compare_title.text()
