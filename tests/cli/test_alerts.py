"""Workflow alerts with real runs (`flowloom run`), a real history file and `flowloom alerts`."""

from __future__ import annotations

import json
import sqlite3

from engine.history import SCHEMA_VERSION, HistoryStore
from engine.history.alerts import list_alerts
from tests.cli.conftest import run_cli

BURN = ("import time\nblob = b'x' * (200 * 1024 * 1024)\nt = time.time()\n"
        "while time.time() - t < 1.5:\n    pass\nresult = len(blob)")


def _live_workflow(alerts):
    return {
        "format": "flowloom.workflow", "version": 1, "name": "live", "description": "",
        "alerts": alerts,
        "nodes": [
            {"id": "start", "type": "flow.start", "params": {"inputs": {}}, "position": [0, 0]},
            {"id": "wait", "type": "util.delay", "params": {"seconds": 0.6},
             "position": [300, 0]},
            {"id": "burn", "type": "code.python", "params": {"code": BURN},
             "position": [600, 0]},
            {"id": "out", "type": "flow.output", "params": {"name": "n"},
             "position": [900, 0]}],
        "edges": [
            {"source": "start", "source_port": "out", "target": "wait", "target_port": "in"},
            {"source": "wait", "source_port": "out", "target": "burn", "target_port": "in"},
            {"source": "burn", "source_port": "out", "target": "out", "target_port": "in"}]}


def _fired(out):
    assert out.returncode == 0, out.stderr
    return {(a["metric"], a["node"], a["over"]) for a in json.loads(out.stdout)["alerts"]}


def test_live_metrics_fire_over_their_threshold_and_stay_quiet_under_it(write_workflow,
                                                                        tmp_path):
    alerts = [
        {"metric": "duration_s", "over": 0.3}, {"metric": "duration_s", "over": 600},
        {"metric": "duration_s", "node": "wait", "over": 0.2},
        {"metric": "duration_s", "node": "wait", "over": 300},
        {"metric": "cpu_percent", "over": 25}, {"metric": "cpu_percent", "over": 100000},
        {"metric": "rss_mb", "over": 150}, {"metric": "rss_mb", "over": 1000000}]
    path = write_workflow(_live_workflow(alerts))
    db = tmp_path / "h.db"
    # The file runs code and was not saved by the editor: the run needs the grant (issue #10).
    out = run_cli("run", path, "--json", "-q", "--allow-run", "--history-db", str(db),
                  timeout=120)
    assert _fired(out) == {("duration_s", None, 0.3), ("duration_s", "wait", 0.2),
                           ("cpu_percent", None, 25), ("rss_mb", None, 150)}
    assert "alert: the run's duration was" in out.stderr
    with HistoryStore.open(db) as store:
        recorded = list_alerts(store, workflow=path)
    assert {(a.metric, a.node_id) for a in recorded} == {
        ("duration_s", None), ("duration_s", "wait"), ("cpu_percent", None), ("rss_mb", None)}
    listed = run_cli("alerts", "--json", "--history-db", str(db))
    assert listed.returncode == 0
    entries = json.loads(listed.stdout)
    assert len(entries) == 4 and {e["run_id"] for e in entries} == {recorded[0].run_id}
    rss = next(e for e in entries if e["metric"] == "rss_mb")
    assert rss["value"] > 150 and rss["workflow"].endswith("wf.loom.json")
    text = run_cli("alerts", "--history-db", str(db))
    assert "rss_mb" in text.stdout and "cpu_percent" in text.stdout


def _flaky_workflow(alerts):
    return {
        "format": "flowloom.workflow", "version": 1, "name": "flaky", "description": "",
        "alerts": alerts,
        "nodes": [
            {"id": "start", "type": "flow.start", "params": {"inputs": {"fail": False}},
             "position": [0, 0]},
            {"id": "check", "type": "flow.if", "params": {"condition": "x['fail']"},
             "position": [300, 0]},
            {"id": "boom", "type": "flow.fail", "params": {"message": "asked to fail"},
             "position": [600, -100]},
            {"id": "wait", "type": "util.delay", "params": {"seconds": 0.3},
             "position": [600, 100]},
            {"id": "out", "type": "flow.output", "params": {"name": "done"},
             "position": [900, 100]}],
        "edges": [
            {"source": "start", "source_port": "out", "target": "check", "target_port": "in"},
            {"source": "check", "source_port": "true", "target": "boom", "target_port": "in"},
            {"source": "check", "source_port": "false", "target": "wait", "target_port": "in"},
            {"source": "wait", "source_port": "out", "target": "out", "target_port": "in"}]}


def test_history_metrics_fire_against_the_last_runs(write_workflow, tmp_path):
    alerts = [
        {"metric": "failure_rate", "over": 0.5, "window": 3},
        {"metric": "failure_rate", "over": 0.9, "window": 3},
        {"metric": "failure_rate", "node": "boom", "over": 0.5, "window": 3},
        {"metric": "node_duration_p95", "node": "wait", "over": 0.1, "window": 5},
        {"metric": "node_duration_p95", "node": "wait", "over": 5, "window": 5},
        {"metric": "node_duration_p95", "over": 60, "window": 5}]
    path = write_workflow(_flaky_workflow(alerts))
    db = str(tmp_path / "h.db")
    first = run_cli("run", path, "--json", "-q", "--history-db", db)
    assert _fired(first) == {("node_duration_p95", "wait", 0.1)}
    second = run_cli("run", path, "--json", "-q", "--history-db", db, "--input", "fail=true")
    assert second.returncode == 1
    assert {a["metric"] for a in json.loads(second.stdout)["alerts"]} == {"node_duration_p95"}
    third = run_cli("run", path, "--json", "-q", "--history-db", db, "--input", "fail=true")
    fired = {(a["metric"], a["node"], a["over"]): a for a in json.loads(third.stdout)["alerts"]}
    assert set(fired) == {("failure_rate", None, 0.5), ("failure_rate", "boom", 0.5),
                          ("node_duration_p95", "wait", 0.1)}
    assert fired[("failure_rate", None, 0.5)]["value"] == round(2 / 3, 4)
    assert fired[("failure_rate", None, 0.5)]["window"] == 3
    with HistoryStore.open(db) as store:
        assert len(list_alerts(store)) == 5


def test_without_history_only_live_alerts_are_checked(write_workflow):
    path = write_workflow(_flaky_workflow([{"metric": "duration_s", "over": 0.05},
                                           {"metric": "failure_rate", "over": 0, "window": 1}]))
    out = run_cli("run", path, "--json", "-q", "--no-history")
    assert _fired(out) == {("duration_s", None, 0.05)}


def test_validate_names_each_bad_alert_in_a_sentence(write_workflow):
    path = write_workflow(_flaky_workflow([
        {"metric": "latency", "over": 1}, {"metric": "duration_s", "node": "ghost", "over": 1},
        {"metric": "rss_mb", "node": "wait", "over": 1}, {"metric": "duration_s"},
        {"metric": "failure_rate", "over": 0.5, "window": 0}]))
    out = run_cli("validate", path, "--json")
    assert out.returncode == 2
    messages = [p["message"] for p in json.loads(out.stdout)["problems"]]
    assert any("alert #1 has an unknown metric 'latency'" in m for m in messages)
    assert any("alert #2 (duration_s) names node 'ghost'" in m for m in messages)
    assert any("alert #3 (rss_mb) is measured for the whole run" in m for m in messages)
    assert any("alert #4 (duration_s) needs \"over\"" in m for m in messages)
    assert any("alert #5 (failure_rate) needs \"window\"" in m for m in messages)
    assert "Traceback" not in out.stderr


def test_a_version_1_history_gains_the_alerts_table_and_keeps_its_runs(write_workflow,
                                                                       tmp_path):
    db = tmp_path / "old.db"
    path = write_workflow(_flaky_workflow([]))
    assert run_cli("run", path, "-q", "--history-db", str(db)).returncode == 0
    with sqlite3.connect(db) as conn:  # make it the version-1 file an older Flowloom wrote
        for table in ("alerts", "record_items", "records", "blobs"):  # 2 and 3 added these
            conn.execute(f"DROP TABLE {table}")
        conn.execute("DELETE FROM schema_version WHERE version > 1")
    with HistoryStore.open(db) as store:
        assert store.schema_version() == SCHEMA_VERSION  # 1 -> 2 -> 3 -> 4, step by step
        assert list_alerts(store) == []
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM runs").fetchone() == (1,)
