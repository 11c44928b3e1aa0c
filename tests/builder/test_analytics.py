"""Analytics dock: the numbers equal engine.history.analytics.workflow_stats on a real DB."""

from __future__ import annotations

import pytest

from builder.panels import RunPanels
from engine.history import HistoryStore, workflow_key, workflow_stats
from tests.builder.test_panels_support import EXAMPLES, compile_file, record

ERRORS = EXAMPLES / "errors.loom.json"
PARALLEL = EXAMPLES / "parallel.loom.json"


@pytest.fixture
def store(qloop, tmp_path):
    store = HistoryStore.open(tmp_path / "history.db")
    for path in (ERRORS, PARALLEL, ERRORS, ERRORS):
        record(qloop, compile_file(path), store=store, path=path)
    yield store
    store.close()


def test_analytics_numbers_equal_workflow_stats(qtbot, store):
    panels = RunPanels()
    qtbot.addWidget(panels.dock("AnalyticsDock"))
    panels.set_history_store(store)
    panels.set_workflow_path(ERRORS)
    analytics = panels.analytics
    expected = workflow_stats(store, ERRORS)
    assert expected.runs == 3
    assert analytics.workflow_box.currentData() == workflow_key(ERRORS)
    values = analytics.node_values()
    assert set(values) == set(expected.nodes)
    for nid, stats in expected.nodes.items():
        row = values[nid]
        assert row["Runs"] == stats.count
        assert row["Success"] == stats.success_rate
        assert row["Flaky"] == stats.flakiness
        for column, name in (("Min", "min_s"), ("Max", "max_s"), ("Mean", "mean_s"),
                             ("Std", "std_s"), ("P50", "p50_s"), ("P95", "p95_s")):
            assert row[column] == getattr(stats.durations, name)
    assert "3</b> runs" in analytics.summary.text()
    flakiest = expected.flakiest(5)
    assert flakiest, "the example's division by zero retries"
    assert flakiest[0].node_id in analytics.leaders.text()
    xs, ys = analytics.trend_curve.getData()
    assert list(ys) == [p.duration_s for p in expected.trend]
    slowest = expected.slowest(5)
    assert list(analytics.slowest_bars.opts["width"]) == [s.durations.mean_s for s in slowest]


def test_analytics_switches_workflow_and_follows_new_runs(qtbot, qloop, store):
    panels = RunPanels()
    panels.set_history_store(store)
    panels.set_workflow_path(PARALLEL)
    analytics = panels.analytics
    assert {analytics.workflow_box.itemData(i) for i in range(analytics.workflow_box.count())} \
        == {workflow_key(ERRORS), workflow_key(PARALLEL)}
    assert analytics.stats.runs == 1
    record(qloop, compile_file(PARALLEL), store=store, path=PARALLEL, panels=panels)
    assert analytics.stats.runs == 2  # on_run_finished refreshed it
    assert analytics.node_values()["wait_a"]["Runs"] == workflow_stats(
        store, PARALLEL).nodes["wait_a"].count == 2
    analytics.show_workflow(ERRORS)
    assert analytics.stats.workflow == workflow_key(ERRORS)
