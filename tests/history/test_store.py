"""The history database file: location, pragmas, schema version and migrations, crash recovery."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import platformdirs
import psutil
import pytest
from sqlalchemy import inspect, select, text

from engine.history import (
    INTERRUPTED,
    SCHEMA_VERSION,
    HistoryError,
    HistoryStore,
    default_path,
    get_run,
    list_runs,
    resolve_path,
    workflow_stats,
)
from engine.history import store as store_module
from engine.history.schema import RunRow, SchemaVersion
from tests.history.helpers import insert_node_run

pytestmark = pytest.mark.timeout(60)
REPO = Path(__file__).resolve().parents[2]


def test_the_database_runs_in_wal_mode_with_normal_sync_and_foreign_keys(tmp_path):
    with HistoryStore.open(tmp_path / "h.db") as store, store.reading() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert (tmp_path / "h.db").exists()


def test_a_new_database_records_its_schema_version_once(tmp_path):
    for _ in range(3):  # reopening does not add versions or fail on existing tables
        with HistoryStore.open(tmp_path / "h.db") as store:
            assert store.schema_version() == SCHEMA_VERSION
    with HistoryStore.open(tmp_path / "h.db") as store, store.reading() as conn:
        assert conn.execute(select(SchemaVersion.version)).scalars().all() == [SCHEMA_VERSION]
        assert {"runs", "node_run_packs", "logs", "schema_version"} <= set(
            inspect(conn).get_table_names())


def test_a_database_from_a_newer_flowloom_is_refused_by_name(tmp_path):
    db = tmp_path / "h.db"
    with HistoryStore.open(db) as store, store.transaction() as conn:
        conn.execute(SchemaVersion.__table__.insert(),
                     {"version": SCHEMA_VERSION + 1, "applied_at": time.time()})
    with pytest.raises(HistoryError, match=f"schema version {SCHEMA_VERSION + 1}.*h.db|h.db.*"
                                           f"schema version {SCHEMA_VERSION + 1}"):
        HistoryStore.open(db)


def test_an_older_database_is_migrated_step_by_step(tmp_path, monkeypatch):
    db = tmp_path / "h.db"
    HistoryStore.open(db).close()

    def add_label(conn) -> None:
        conn.exec_driver_sql("ALTER TABLE runs ADD COLUMN label TEXT DEFAULT ''")

    monkeypatch.setattr(store_module, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    monkeypatch.setattr(store_module, "MIGRATIONS", {SCHEMA_VERSION: add_label})
    with HistoryStore.open(db) as store, store.reading() as conn:
        assert store.schema_version() == SCHEMA_VERSION + 1
        assert "label" in {c["name"] for c in inspect(conn).get_columns("runs")}

    monkeypatch.setattr(store_module, "SCHEMA_VERSION", SCHEMA_VERSION + 2)
    with pytest.raises(HistoryError, match="no migration"):
        HistoryStore.open(db)


def test_the_path_comes_from_the_flag_then_the_environment_then_the_user_data_folder(
        tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWLOOM_HISTORY_DB", str(tmp_path / "env.db"))
    assert default_path() == tmp_path / "env.db"
    assert resolve_path(tmp_path / "flag.db") == tmp_path / "flag.db"
    assert resolve_path(None) == tmp_path / "env.db"
    monkeypatch.delenv("FLOWLOOM_HISTORY_DB")
    assert default_path() == Path(platformdirs.user_data_dir("flowloom")) / "history.db"


def test_an_unusable_path_is_a_history_error_naming_the_file(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(HistoryError, match="file/sub/h.db"):
        HistoryStore.open(blocker / "sub" / "h.db")


# --- crash recovery -----------------------------------------------------------------------
CRASHING_RUN = textwrap.dedent("""
    import asyncio, sys
    from engine import Run, compile_workflow
    from engine.history import HistoryRecorder, HistoryStore
    from tests.history.helpers import registry, workflow

    wf = workflow({"quick": ("data.value", {"value": 1}),
                   "slow": ("util.delay", {"seconds": 60})}, ["quick.out -> slow.in"])
    store = HistoryStore.open(sys.argv[1])
    run = Run(compile_workflow(wf, registry()), run_id="crashing")
    HistoryRecorder(store, sys.argv[2], flush_interval_s=0.05).attach(run)
    asyncio.run(run.execute())
""")


def test_a_run_whose_process_was_killed_is_marked_interrupted_on_the_next_open(tmp_path):
    db, flow = tmp_path / "h.db", tmp_path / "crash.loom.json"
    HistoryStore.open(db).close()
    proc = subprocess.Popen([sys.executable, "-c", CRASHING_RUN, str(db), str(flow)], cwd=REPO)
    try:
        with HistoryStore.open(db) as store:
            deadline = time.monotonic() + 20
            while True:  # wait until the recorder wrote the run and the slow node started
                run = get_run(store, "crashing")
                if run and {n.node_id: n.status for n in run.nodes}.get("slow") == "running":
                    break
                assert proc.poll() is None and time.monotonic() < deadline, "never recorded"
                time.sleep(0.05)
            assert run.status == "running"
    finally:
        proc.kill()  # SIGKILL: no chance to write anything more
        proc.wait(10)

    with HistoryStore.open(db) as store:
        run = get_run(store, "crashing")
        assert run.status == INTERRUPTED
        assert "stopped before the run finished" in run.error
        assert run.ended_at >= run.started_at
        nodes = {n.node_id: n.status for n in run.nodes}
        assert nodes == {"quick": "succeeded", "slow": INTERRUPTED}
        # readers keep working on what the crash left
        assert [r.status for r in list_runs(store)] == [INTERRUPTED]
        stats = workflow_stats(store, flow)
        assert (stats.runs, stats.success_rate) == (1, 0.0)
        assert stats.nodes["quick"].count == 1


def _running_row(store: HistoryStore, run_id: str, **fields) -> None:
    row = {"id": run_id, "workflow_path": "/x.loom.json", "status": "running",
           "started_at": time.time() - 5, "heartbeat_at": time.time() - 5,
           "host": store.host, "pid": store.pid, "pid_started_at": store.pid_started_at}
    row.update(fields)
    with store.transaction() as conn:
        conn.execute(RunRow.__table__.insert(), row)
        insert_node_run(conn, {"run_id": run_id, "node_id": "n", "status": "running",
                               "attempts": 1})


def test_only_runs_whose_recording_process_is_gone_are_interrupted(tmp_path):
    dead = psutil.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    dead_identity = (dead.pid, dead.create_time())
    dead.kill()
    dead.wait(10)
    with HistoryStore.open(tmp_path / "h.db") as store:
        _running_row(store, "alive-here")  # this very process: still recording
        _running_row(store, "dead-here", pid=dead_identity[0], pid_started_at=dead_identity[1])
        # our pid, but a different process start time: the pid was reused
        _running_row(store, "reused-pid", pid_started_at=store.pid_started_at - 3600)
        _running_row(store, "other-host-fresh", host="elsewhere", pid=1)
        _running_row(store, "other-host-stale", host="elsewhere", pid=1,
                     heartbeat_at=time.time() - 3600, started_at=time.time() - 3700)
    with HistoryStore.open(tmp_path / "h.db", stale_after_s=600) as store:
        status = {r.id: r.status for r in list_runs(store)}
        node_status = {r.id: r.nodes[0].status for r in list_runs(store)}
        with store.reading() as conn:
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    assert status == {"alive-here": "running", "dead-here": INTERRUPTED,
                      "reused-pid": INTERRUPTED, "other-host-fresh": "running",
                      "other-host-stale": INTERRUPTED}
    assert node_status == {rid: ("running" if s == "running" else INTERRUPTED)
                           for rid, s in status.items()}
