"""Analytics checked against a hand-made set of recorded runs; expected values are computed here
independently from the raw durations with the `statistics` module."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest

from engine.history import HistoryStore, compare_runs, list_runs, percentile, workflow_stats
from engine.history.schema import RunRow
from tests.history.helpers import insert_node_run

T0 = 1_700_000_000.0
# run id -> (status, run duration, {node id: [(status, duration, attempts, retries), ...]})
RUNS = {
    "r1": ("succeeded", 3.0, {"fetch": [("succeeded", 1.2, 1, 0)],
                              "parse": [("succeeded", 0.30, 1, 0)],
                              "step": [("succeeded", 0.10, 1, 0), ("succeeded", 0.12, 1, 0)],
                              "alert": [("skipped", None, 0, 0)]}),
    "r2": ("succeeded", 3.4, {"fetch": [("succeeded", 1.9, 2, 1)],
                              "parse": [("succeeded", 0.35, 1, 0)],
                              "step": [("succeeded", 0.11, 1, 0), ("succeeded", 0.15, 1, 0),
                                       ("succeeded", 0.09, 1, 0)],
                              "alert": [("skipped", None, 0, 0)]}),
    "r3": ("failed", 5.1, {"fetch": [("failed", 4.8, 3, 2)],
                           "parse": [("skipped", None, 0, 0)],
                           "alert": [("succeeded", 0.05, 1, 0)]}),
    "r4": ("succeeded", 2.8, {"fetch": [("succeeded", 1.1, 1, 0)],
                              "parse": [("succeeded", 0.28, 1, 0)],
                              "step": [("succeeded", 0.13, 1, 0)],
                              "alert": [("skipped", None, 0, 0)]}),
    "r5": ("cancelled", 1.0, {"fetch": [("cancelled", 0.7, 1, 0)],
                              "parse": [("cancelled", None, 0, 0)]}),
    "r6": ("succeeded", 3.9, {"fetch": [("succeeded", 2.5, 2, 1)],
                              "parse": [("succeeded", 0.41, 1, 0)],
                              "step": [("failed", 0.2, 1, 0), ("succeeded", 0.14, 1, 0)],
                              "alert": [("skipped", None, 0, 0)]}),
}


@pytest.fixture
def store(tmp_path: Path):
    flow = tmp_path / "etl.loom.json"
    opened = HistoryStore.open(tmp_path / "h.db")
    with opened.transaction() as conn:
        for index, (run_id, (status, duration, nodes)) in enumerate(RUNS.items()):
            start = T0 + index * 100
            conn.execute(RunRow.__table__.insert(), {
                "id": run_id, "workflow_path": str(flow), "status": status,
                "started_at": start, "ended_at": start + duration, "duration_s": duration})
            for node_id, rows in nodes.items():
                offset = 0.0
                for iteration, (nstatus, ndur, attempts, retries) in enumerate(rows):
                    ran = attempts > 0
                    insert_node_run(conn, {
                        "run_id": run_id, "node_id": node_id,
                        "iteration": str(iteration) if node_id == "step" else "",
                        "status": nstatus, "attempts": attempts, "retries": retries,
                        "started_at": start + offset if ran else None,
                        "ended_at": start + offset + (ndur or 0.0),
                        "duration_s": ndur if ran else None})
                    offset += ndur or 0.0
        # noise that must not count: a run still going, and another workflow's run
        conn.execute(RunRow.__table__.insert(), {"id": "live", "workflow_path": str(flow),
                                                 "status": "running", "started_at": T0 + 900})
        insert_node_run(conn, {
            "run_id": "live", "node_id": "fetch", "status": "running", "attempts": 1,
            "started_at": T0 + 900})
        conn.execute(RunRow.__table__.insert(), {
            "id": "other", "workflow_path": str(tmp_path / "other.loom.json"),
            "status": "failed", "started_at": T0 + 50, "duration_s": 99.0})
        insert_node_run(conn, {
            "run_id": "other", "node_id": "fetch", "status": "failed", "attempts": 1,
            "started_at": T0 + 50, "duration_s": 99.0})
    opened.flow = flow
    with opened:
        yield opened


def _expected(durations: list[float]) -> dict[str, float]:
    return {"min_s": min(durations), "max_s": max(durations),
            "mean_s": statistics.mean(durations), "std_s": statistics.stdev(durations),
            "p50_s": statistics.median(durations),
            "p95_s": statistics.quantiles(durations, n=100, method="inclusive")[94]}


def _raw(node_id: str) -> list[tuple[str, float | None, int, int]]:
    return [row for _, _, nodes in RUNS.values() for row in nodes.get(node_id, [])]


def test_workflow_counts_and_success_rate_cover_finished_runs_of_that_file_only(store):
    stats = workflow_stats(store, store.flow)
    assert stats.workflow == str(store.flow)
    assert stats.runs == 6  # not the running one, not the other workflow's
    assert stats.success_rate == pytest.approx(4 / 6)
    ended = [d for s, d, _ in RUNS.values() if s in ("succeeded", "failed")]
    d = stats.durations
    got = {k: getattr(d, k) for k in ("min_s", "max_s", "mean_s", "std_s", "p50_s", "p95_s")}
    assert got == pytest.approx(_expected(ended))
    assert d.count == len(ended) == 5


@pytest.mark.parametrize("node_id", ["fetch", "parse", "step"])
def test_node_statistics_match_an_independent_computation(store, node_id):
    raw = _raw(node_id)
    ended = [r for r in raw if r[0] in ("succeeded", "failed")]
    node = workflow_stats(store, store.flow).to_json()["nodes"][node_id]
    assert node["count"] == len(ended)
    assert node["success_rate"] == pytest.approx(
        sum(r[0] == "succeeded" for r in ended) / len(ended))
    expected = _expected([r[1] for r in ended])
    assert {k: node[k] for k in expected} == pytest.approx(expected, abs=1e-6)


def test_a_node_that_never_ran_has_a_count_of_zero_and_no_durations(store):
    stats = workflow_stats(store, store.flow)
    alert = stats.nodes["alert"]
    assert (alert.count, alert.success_rate, alert.durations.mean_s) == (1, 1.0, 0.05)
    assert alert.to_json()["std_s"] == 0.0
    assert workflow_stats(store, store.flow, last=1).nodes["alert"].to_json() == {
        "count": 0, "success_rate": None, "min_s": None, "max_s": None, "mean_s": None,
        "std_s": None, "p50_s": None, "p95_s": None}


def test_slowest_and_flakiest_nodes_rank_by_mean_duration_and_failed_attempts(store):
    stats = workflow_stats(store, store.flow)
    means = {nid: statistics.mean(r[1] for r in _raw(nid) if r[0] in ("succeeded", "failed"))
             for nid in ("fetch", "parse", "step", "alert")}
    assert [s.node_id for s in stats.slowest(4)] == sorted(means, key=means.get, reverse=True)
    flaky = {}
    for nid in ("fetch", "parse", "step", "alert"):
        raw = _raw(nid)
        failed_attempts = sum(r[3] for r in raw) + sum(r[0] == "failed" for r in raw)
        flaky[nid] = failed_attempts / sum(r[2] for r in raw)
    ranked = [nid for nid in sorted(flaky, key=flaky.get, reverse=True) if flaky[nid] > 0]
    assert [s.node_id for s in stats.flakiest(5)] == ranked
    assert stats.nodes["fetch"].flakiness == pytest.approx(flaky["fetch"])  # 5 of 10 attempts


def test_trend_lists_the_last_runs_oldest_first_and_last_limits_the_window(store):
    stats = workflow_stats(store, store.flow, trend=3)
    assert [(p.run_id, p.duration_s) for p in stats.trend] == [
        ("r4", 2.8), ("r5", 1.0), ("r6", 3.9)]
    recent = workflow_stats(store, store.flow, last=2)
    assert (recent.runs, recent.success_rate) == (2, 0.5)
    assert recent.nodes["fetch"].durations.mean_s == pytest.approx(2.5)  # r5's was cancelled


def test_percentile_interpolates_between_ranks_like_statistics_inclusive():
    values = [5.0, 1.0, 9.0, 3.0, 7.0, 2.0]
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    for q in (5, 25, 50, 90, 95, 99):
        assert percentile(values, q) == pytest.approx(cuts[q - 1])
    assert (percentile(values, 0), percentile(values, 100)) == (1.0, 9.0)
    assert percentile([4.0], 95) == 4.0
    with pytest.raises(ValueError):
        percentile([], 50)


def test_list_runs_filters_orders_newest_first_and_limits(store):
    assert [r.id for r in list_runs(store)] == ["live", "r6", "r5", "r4", "r3", "r2", "other",
                                                "r1"]
    assert [r.id for r in list_runs(store, workflow=store.flow, status="succeeded",
                                    limit=2)] == ["r6", "r4"]
    assert [r.id for r in list_runs(store, status="failed")] == ["r3", "other"]
    [r2] = [r for r in list_runs(store) if r.id == "r2"]
    assert r2.per_node()["step"].duration_s == pytest.approx(0.11 + 0.15 + 0.09)
    assert r2.per_node()["fetch"].attempts == 2


def test_compare_runs_puts_node_durations_and_statuses_side_by_side(store):
    comparison = compare_runs(store, "r1", "r3")
    rows = {row.node_id: row for row in comparison.nodes}
    assert list(rows) == ["fetch", "parse", "step", "alert"]
    assert rows["fetch"].delta_s == pytest.approx(4.8 - 1.2)
    assert (rows["fetch"].a.status, rows["fetch"].b.status) == ("succeeded", "failed")
    assert rows["parse"].status_changed and rows["parse"].delta_s is None
    assert rows["step"].b is None and rows["step"].status_changed
    assert not compare_runs(store, "r1", "r4").nodes[0].status_changed
    with pytest.raises(KeyError, match="'nope'"):
        compare_runs(store, "r1", "nope")
