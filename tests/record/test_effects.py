"""What a record holds: clock reads and random draws made through the node context, approval
decisions, per node execution its inputs and outputs — and never a secret; a replayed node
that needs a credential gets the masked placeholder. Also the 2 -> 3 history migration."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

from engine.compile import compile_workflow
from engine.context import Decision, Services
from engine.executor import Run
from engine.fileformat import loads
from engine.history import SCHEMA_VERSION, HistoryRecorder, HistoryStore
from engine.nodetype import NodeType, Port
from engine.record.replay import prepare_replay
from engine.record.serve import MASKED_SECRET
from engine.record.store import load_record, write_record
from engine.record.tap import RunTap
from nodes.credentials import secrets_main
from nodes.human import Approval
from tests.record.conftest import edge, node, workflow, write
from tests.servers.web import WebServer
from tests.servers.workflows import registry_with


class Stamp(NodeType):
    """Reads the clock and draws a random number through its context."""

    type_id = "test.stamp"
    inputs = (Port("in", required=False),)
    outputs = (Port("out", "dict"),)

    async def run(self, ctx: Any, **inputs: Any) -> dict[str, Any]:
        return {"out": {"t": ctx.now(), "r": ctx.random(), "r2": ctx.random()}}


def stamp_workflow() -> dict:
    return workflow("stamp", [
        node("start", "flow.start", inputs={"items": [1, 2, 3]}),
        node("items", "data.expression", 100, expr="x['items']"),
        node("each", "flow.foreach", 200),
        node("stamp", "test.stamp", 400),
        node("gate", "human.approval", 600, title="ok?"),
        node("out", "flow.output", 800, name="decision"),
    ], [edge("start", "items", "out", "x"), edge("items", "each", "out", "items"),
        edge("each", "stamp", "item", "in"), edge("stamp", "each", "out", "result"),
        edge("each", "gate", "results", "in"), edge("gate", "out", "decision", "in")])


async def _run(store: HistoryStore, run: Run, tap: RunTap, **options: Any) -> Any:
    recorder = HistoryRecorder(store, None).attach(run)
    tap.attach(run)
    result = await asyncio.wait_for(run.execute(), 20)
    await recorder.aclose()
    write_record(store, run, tap, **options)
    return result


def test_clock_random_and_approvals_are_recorded_and_served_on_replay(tmp_path):
    registry = registry_with(Stamp, Approval)
    compiled = compile_workflow(loads(json.dumps(stamp_workflow()), registry).workflow,
                                registry)

    async def approve(request: Any) -> Decision:
        return Decision(True, "looks right", "tester")

    with HistoryStore.open(tmp_path / "h.db") as store:
        tap = RunTap()
        run = Run(compiled, services=tap.services(Services(approver=approve)))
        first = asyncio.run(_run(store, run, tap))
        assert first.status == "succeeded", first.error
        record = load_record(store, run.run_id)
        assert sorted(k for k, *_ in record.values) == ["clock"] * 3 + ["random"] * 6
        assert record.approvals[0][2] == {"approved": True, "comment": "looks right",
                                          "by": "tester"}
        assert record.node_inputs("stamp", "1") == {"in": 2}
        assert record.outputs("each") == first.nodes["each"].outputs

        replay = prepare_replay(store, run.run_id, registry)
        tap2 = RunTap(source=replay.source)
        again = Run(replay.compiled, replay.inputs,
                    services=tap2.services(Services(approver=replay.source.approve)))
        second = asyncio.run(_run(store, again, tap2, replay_of=run.run_id))

    assert second.status == "succeeded" and not replay.source.missing
    assert second.nodes["each"].outputs == first.nodes["each"].outputs
    assert second.outputs == first.outputs == {"decision": {
        "approved": True, "comment": "looks right", "by": "tester"}}
    stamps = first.nodes["each"].outputs["results"]
    assert len({s["r"] for s in stamps}) == 3  # real draws, not one value served thrice


def test_secrets_never_reach_the_record_and_a_replay_gets_the_placeholder(
        flowloom, tmp_path, history_db, monkeypatch):
    secret = "tok-9f8e7d6c5b4a-secret"
    monkeypatch.setenv("FLOWLOOM_CONFIG_DIR", str(tmp_path / "config"))
    assert secrets_main(["set", "API_TOKEN", "--value", secret]) == 0
    server = WebServer().start()
    path = write(tmp_path / "auth.loom.json", workflow("auth", [
        node("start", "flow.start"),
        node("call", "net.http", 200, url=server.url + "/echo?echo=1", auth_secret="API_TOKEN"),
        node("seen", "data.expression", 400, expr="x['json']['headers']['authorization']"),
        node("out", "flow.output", 600, name="seen"),
    ], [edge("start", "call"), edge("call", "seen", "response", "x"), edge("seen", "out")]))
    code, out, err = flowloom("run", path, "--json", "--trust", "-q")
    assert code == 0, err
    recorded = json.loads(out)
    assert recorded["outputs"]["seen"] == "Bearer ••••••"
    for file in Path(history_db).parent.glob("history.db*"):
        assert secret.encode() not in file.read_bytes(), file.name

    code, out, err = flowloom("replay", recorded["run_id"], "--json", "-q", "--live-from",
                              "call", "--trust")

    server.stop()
    assert code == 0, err
    sent = server.requests_to("/echo")[-1].headers["authorization"]
    assert sent == f"Bearer {MASKED_SECRET}"


def test_a_version_2_history_is_migrated_to_3_keeping_its_runs(tmp_path, flowloom,
                                                                history_db):
    path = write(tmp_path / "one.loom.json", workflow("one", [
        node("start", "flow.start", inputs={"n": 1}), node("out", "flow.output", 200, name="n"),
    ], [edge("start", "out")]))
    code, out, _ = flowloom("run", path, "--json", "-q", "--no-record")
    run_id = json.loads(out)["run_id"]
    with sqlite3.connect(history_db) as conn:  # back to what schema version 2 had
        for table in ("record_items", "records", "blobs"):
            conn.execute(f"DROP TABLE {table}")
        conn.execute("DELETE FROM schema_version WHERE version >= 3")

    with HistoryStore.open(history_db) as store:
        assert store.schema_version() == SCHEMA_VERSION  # 2 -> 3 -> 4
    with sqlite3.connect(history_db) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"blobs", "records", "record_items"} <= tables
        assert conn.execute("SELECT count(*) FROM runs WHERE id = ?", (run_id,)).fetchone() == (1,)
    code, out, err = flowloom("run", path, "--json", "-q")
    assert code == 0, err
    assert flowloom("replay", json.loads(out)["run_id"], "-q")[0] == 0
