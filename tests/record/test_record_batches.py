"""A record keeps its small values in "batch" items (issue 17, fourth pass): every execution
of a foreach body still reads back with its own inputs and outputs, in the order they ended; a
large value stays a blob of its own, shared by identical runs; the size limit counts what is
kept; a secret that flows through a loop is masked in the batch; and a record written the way
records were written before batches still loads."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from engine.history import HistoryStore
from engine.record.codec import digest, encode
from engine.record.store import BATCH, INLINE_MAX, load_record
from nodes.credentials import secrets_main
from tests.record.conftest import edge, node, workflow, write
from tests.servers.web import WebServer


def squares(items: list) -> dict:
    return workflow("squares", [
        node("items", "data.value", value=items),
        node("each", "flow.foreach", 200, parallel=1),
        node("square", "data.expression", 400, expr="x * x"),
        node("total", "data.expression", 600, expr="sum(x)"),
        node("out", "flow.output", 800, name="total"),
    ], [edge("items", "each", "out", "items"), edge("each", "square", "item", "x"),
        edge("square", "each", "out", "result"), edge("each", "total", "results", "x"),
        edge("total", "out")])


def items_of(db: Path, run_id: str) -> list[tuple[str, str, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT node_id, iteration, kind FROM record_items WHERE run_id = ? "
                            "ORDER BY id", (run_id,)).fetchall()


def record_of(db: Path, run_id: str):
    with HistoryStore.open(db) as store:
        return load_record(store, run_id)


def test_every_iteration_reads_back_with_its_inputs_and_outputs_in_order(flowloom, tmp_path,
                                                                         history_db):
    n = 300
    path = write(tmp_path / "squares.loom.json", squares(list(range(n))))
    code, out, err = flowloom("run", path, "--json", "-q")
    assert code == 0, err
    run_id = json.loads(out)["run_id"]

    rows = items_of(history_db, run_id)
    assert len(rows) < 20  # not two rows per iteration
    assert any(kind == BATCH for _, _, kind in rows)
    record = record_of(history_db, run_id)
    for i in range(n):
        assert record.outputs("square", str(i)) == {"out": i * i}
        assert record.node_inputs("square", str(i)) == {"x": i}
        assert record.nodes[("square", str(i))].status == "succeeded"
    assert record.node_inputs("total") == {"x": [i * i for i in range(n)]}
    assert record.outputs("total") == {"out": sum(i * i for i in range(n))}
    assert record.node_inputs("each")["items"] == list(range(n))
    assert record.order == ([("items", "")] + [("square", str(i)) for i in range(n)]
                            + [("each", ""), ("total", ""), ("out", "")])
    # a top-level node's values are read back as the blobs they were (reuse hashes them)
    fact = record.nodes[("total", "")]
    assert record.blob(fact.outputs_blob) == encode({"out": sum(i * i for i in range(n))})
    assert fact.key and fact.static

    code, out, err = flowloom("replay", run_id, "--json", "-q")
    assert code == 0, err
    assert json.loads(out)["outputs"]["total"] == sum(i * i for i in range(n))
    code, out, err = flowloom("run", path, "--json", "-q", "--reuse-from", run_id)
    assert code == 0, err
    assert json.loads(out)["outputs"]["total"] == sum(i * i for i in range(n))


def test_a_large_value_in_a_loop_is_a_blob_of_its_own_shared_by_identical_runs(
        flowloom, tmp_path, history_db):
    big = "x" * (INLINE_MAX + 100)
    path = write(tmp_path / "big.loom.json", squares([1, 2]))
    doc = json.loads(Path(path).read_text())
    doc["nodes"][2]["params"]["expr"] = f"'{big}' if x == 2 else x"  # iteration 1 is large
    doc["nodes"][3]["params"]["expr"] = "len(x)"
    Path(path).write_text(json.dumps(doc))
    ids = []
    for _ in range(2):
        code, out, err = flowloom("run", path, "--json", "-q")
        assert code == 0, err
        ids.append(json.loads(out)["run_id"])

    rows = items_of(history_db, ids[1])
    assert ("square", "1", "node") in rows and ("square", "1", "inputs") in rows
    assert ("square", "0", "node") not in rows  # the small one is in a batch
    record = record_of(history_db, ids[1])
    assert record.outputs("square", "1") == {"out": big}
    assert record.outputs("square", "0") == {"out": 1}
    assert record.order.index(("square", "0")) < record.order.index(("square", "1")) \
        < record.order.index(("each", ""))
    with sqlite3.connect(history_db) as conn:
        holders = conn.execute("SELECT count(DISTINCT run_id) FROM record_items WHERE blob = ?",
                               (digest(encode({"out": big})),)).fetchone()[0]
        copies = conn.execute("SELECT count(*) FROM blobs WHERE hash = ?",
                              (digest(encode({"out": big})),)).fetchone()[0]
    assert (holders, copies) == (2, 1)


def test_the_size_limit_counts_the_values_a_batch_keeps(flowloom, tmp_path):
    # 400 iterations of ~100-byte texts, each kept inline: ~80 kB, past a 0.02 MB limit
    path = write(tmp_path / "many.loom.json", squares(list(range(400))))
    doc = json.loads(Path(path).read_text())
    doc["nodes"][2]["params"]["expr"] = "str(x) * 40"
    doc["nodes"][3]["params"]["expr"] = "len(x)"
    Path(path).write_text(json.dumps(doc))
    code, out, err = flowloom("run", path, "--json", "--record-max-run-mb", "0.02")
    assert code == 0, err
    assert "the record passed its limit of 0.02 MB at node 'square'" in err
    code, _, err = flowloom("replay", json.loads(out)["run_id"], "--json")
    assert code == 2
    assert "its record is incomplete" in err


def test_a_secret_that_flows_through_a_loop_is_masked_in_the_batch(flowloom, tmp_path,
                                                                   history_db, monkeypatch):
    secret = "tok-5a4b3c2d1e0f-secret"
    monkeypatch.setenv("FLOWLOOM_CONFIG_DIR", str(tmp_path / "config"))
    assert secrets_main(["set", "API_TOKEN", "--value", secret]) == 0
    with WebServer() as server:
        path = write(tmp_path / "loop.loom.json", workflow("loop", [
            node("start", "flow.start"),
            node("call", "net.http", 100, url=server.url + "/echo?echo=1",
                 auth_secret="API_TOKEN"),
            node("seen", "data.expression", 200,
                 expr="[x['json']['headers']['authorization']] * 3"),
            node("each", "flow.foreach", 300),
            node("shout", "data.expression", 400, expr="x + '!'"),
            node("out", "flow.output", 500, name="shouted"),
        ], [edge("start", "call"), edge("call", "seen", "response", "x"),
            edge("seen", "each", "out", "items"), edge("each", "shout", "item", "x"),
            edge("shout", "each", "out", "result"), edge("each", "out", "results", "in")]))
        code, out, err = flowloom("run", path, "--json", "--trust", "-q")
    assert code == 0, err
    run_id = json.loads(out)["run_id"]
    for file in Path(history_db).parent.glob("history.db*"):
        assert secret.encode() not in file.read_bytes(), file.name
    record = record_of(history_db, run_id)
    assert ("shout", "2") in record.nodes
    assert secret not in json.dumps(record.node_inputs("shout", "2"))
    assert "Bearer" in record.node_inputs("shout", "2")["x"]


def test_a_record_written_before_batches_still_loads(flowloom, tmp_path, history_db):
    path = write(tmp_path / "squares.loom.json", squares([3, 4]))
    code, out, err = flowloom("run", path, "--json", "-q", "--no-record")
    assert code == 0, err
    run_id = json.loads(out)["run_id"]
    facts = [("items", "", {"out": [3, 4]}, {}), ("square", "0", {"out": 9}, {"x": 3}),
             ("square", "1", {"out": 16}, {"x": 4}), ("each", "", {"results": [9, 16]},
                                                       {"items": [3, 4]})]
    with sqlite3.connect(history_db) as conn:  # one node and one inputs item per execution
        conn.execute("INSERT INTO records (run_id, settings_json, size_bytes, state, "
                     "created_at) VALUES (?, '{}', 0, 'complete', 0)", (run_id,))
        for node_id, iteration, outputs, inputs in facts:
            for kind, value in (("node", outputs), ("inputs", inputs)):
                data = encode(value)
                conn.execute("INSERT OR IGNORE INTO blobs (hash, size, data) VALUES (?, ?, ?)",
                             (digest(data), len(data), data))
                meta = {"status": "succeeded", "type": "x"} if kind == "node" else {}
                conn.execute("INSERT INTO record_items (run_id, node_id, iteration, kind, seq, "
                             "meta_json, blob) VALUES (?, ?, ?, ?, 0, ?, ?)",
                             (run_id, node_id, iteration, kind, json.dumps(meta), digest(data)))

    record = record_of(history_db, run_id)
    assert record.order == [("items", ""), ("square", "0"), ("square", "1"), ("each", "")]
    assert record.outputs("square", "1") == {"out": 16}
    assert record.node_inputs("square", "0") == {"x": 3}
    assert record.node_inputs("each") == {"items": [3, 4]}
