"""Packed node runs (engine/history/packs.py): a run written over many flushes reads back as one
written at once (a later pack supersedes an earlier entry), and crash recovery through either
store appends a pack that marks only the unfinished node runs interrupted."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from engine.history import INTERRUPTED, HistoryStore, get_run, packs, workflow_stats
from engine.history.lite import LiteStore
from engine.history.schema import RunRow
from tests.history.helpers import insert_node_run, loop_workflow, record

pytestmark = pytest.mark.timeout(60)


def _facts(store: HistoryStore, run_id: str) -> list[tuple]:
    detail = get_run(store, run_id)
    return sorted((n.node_id, n.iteration, n.status, n.attempts, n.retries, n.error, n.reason,
                   n.started_at is None, n.ended_at is None) for n in detail.nodes)


def _packs(store: HistoryStore, run_id: str) -> int:
    with store.reading() as conn:
        return conn.exec_driver_sql("SELECT count(*) FROM node_run_packs WHERE run_id = ?",
                                    (run_id,)).scalar()


@pytest.mark.asyncio
async def test_a_run_written_in_many_packs_reads_as_one_written_at_once(tmp_path):
    with HistoryStore.open(tmp_path / "h.db") as store:
        flow = tmp_path / "loop.loom.json"
        # each `pause` waits 0.2 s while the writer flushes every event batch: a pause is
        # written running by one pack and succeeded by a later one
        many, rec_many = await record(store, loop_workflow([3, 1, 4, 1, 5], delay_s=0.2), flow,
                                      flush_events=1, flush_interval_s=0.005)
        once, rec_once = await record(store, loop_workflow([3, 1, 4, 1, 5], delay_s=0.2), flow,
                                      flush_events=100_000, flush_interval_s=60)
        assert many.status == once.status == "succeeded"
        assert _packs(store, rec_many.run_id) > _packs(store, rec_once.run_id)
        with store.reading() as conn:  # the same node run was written more than once
            written = len(packs.node_runs(conn, [rec_many.run_id]))
            entries = sum(len(json.loads(text)) for (text,) in conn.exec_driver_sql(
                "SELECT nodes FROM node_run_packs WHERE run_id = ? AND nodes IS NOT NULL",
                (rec_many.run_id,)))
        assert entries > written == len(get_run(store, rec_many.run_id).nodes)
        assert _facts(store, rec_many.run_id) == _facts(store, rec_once.run_id)
        a, b = get_run(store, rec_many.run_id), get_run(store, rec_once.run_id)
        assert [(o.node_id, o.iteration, o.preview) for o in a.outputs] == [
            (o.node_id, o.iteration, o.preview) for o in b.outputs]
        stats = workflow_stats(store, flow)
        assert stats.nodes["triple"].count == 10 and stats.nodes["triple"].runs == 2


def _dead_run(store: HistoryStore) -> None:
    """A run left `running` by a process that is gone, its node runs over two packs."""
    with store.transaction() as conn:
        conn.execute(RunRow.__table__.insert(), {
            "id": "dead", "workflow_path": "/x.loom.json", "status": "running",
            "started_at": time.time() - 50, "heartbeat_at": time.time() - 40,
            "host": store.host, "pid": 0})
        for node_id, status in (("a", "running"), ("b", "retrying"), ("c", "running")):
            insert_node_run(conn, {"run_id": "dead", "node_id": node_id, "status": status,
                                   "attempts": 1, "started_at": time.time() - 45})
        insert_node_run(conn, {"run_id": "dead", "node_id": "a", "status": "succeeded",
                               "attempts": 1, "started_at": time.time() - 45,
                               "duration_s": 1.5})


@pytest.mark.parametrize("opener", ["HistoryStore", "LiteStore"])
def test_recovery_appends_one_pack_marking_only_unfinished_node_runs(tmp_path, opener):
    db = tmp_path / "h.db"
    with HistoryStore.open(db) as store:
        _dead_run(store)
        before = _packs(store, "dead")
    if opener == "HistoryStore":
        HistoryStore.open(db).close()
    else:
        lite = LiteStore.open(db)
        assert lite is not None
        lite.close()
    with HistoryStore.open(db) as store:
        run = get_run(store, "dead")
        assert _packs(store, "dead") == before + 1  # opening again adds nothing
    assert run.status == INTERRUPTED
    assert [(n.node_id, n.status, n.duration_s) for n in
            sorted(run.nodes, key=lambda n: n.node_id)] == [
        ("a", "succeeded", 1.5), ("b", INTERRUPTED, None), ("c", INTERRUPTED, None)]


def test_a_pack_round_trips_every_field_exactly(tmp_path: Path):
    entry = ("n", "2.0", "failed", 3, 2, 1_700_000_000.123456789, 1_700_000_001.1, 0.1 + 0.2,
             "said \"no\" — née \udcff", None)
    with HistoryStore.open(tmp_path / "h.db") as store:
        with store.transaction() as conn:
            conn.execute(RunRow.__table__.insert(), {"id": "r", "started_at": 1.0})
            conn.exec_driver_sql(packs.INSERT_PACK,
                                 packs.pack("r", [entry], [("n", "2.0", "{}", True)]))
        with store.reading() as conn:
            assert packs.node_runs(conn, ["r"]) == [packs.NodeRun("r", *entry)]
            assert packs.outputs(conn, "r") == [("n", "2.0", "{}", True)]
