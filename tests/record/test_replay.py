"""`flowloom replay`: recorded HTTP and LLM runs replay byte for byte with their servers
stopped; the JSON is `run --json`'s plus "replay_of"; --live-from; what cannot be replayed."""

from __future__ import annotations

import json

from tests.record.conftest import edge, node, workflow, write
from tests.servers.llm import LLMServer, reply
from tests.servers.web import WebServer


def http_workflow(url: str) -> dict:
    return workflow("fetch and shape", [
        node("start", "flow.start", inputs={"n": 3}),
        node("fetch", "net.http", 200, url=url + "/echo?n={{ input.n }}", method="POST",
             json={"hello": "world"}),
        node("shape", "data.expression", 400,
             expr="{'status': x['status'], 'echo': x['json']['query'], "
                  "'server': x['headers']['x-test-server'], 'raw': x['text']}"),
        node("out", "flow.output", 600, name="result"),
    ], [edge("start", "fetch"), edge("fetch", "shape", "response", "x"), edge("shape", "out")])


def llm_workflow(url: str, **params) -> dict:
    return workflow("ask", [
        node("start", "flow.start", inputs={"q": "what does a loom do?"}),
        node("question", "data.expression", 100, expr="x['q']"),
        node("ask", "ai.chat", 200, provider="openai", base_url=url + "/v1", **params),
        node("out", "flow.output", 400, name="answer"),
        node("usage", "flow.output", 400, name="usage"),
    ], [edge("start", "question", "out", "x"), edge("question", "ask", "out", "prompt"),
        edge("ask", "out", "text", "in"), edge("ask", "usage", "usage", "in")])


def recorded_outputs(history_db, run_id: str) -> dict:
    """Every node execution's recorded outputs, as the bytes the record holds."""
    from engine.history.lite import LiteStore
    from engine.record.store import load_record

    with LiteStore.open(history_db) as store:
        record = load_record(store, run_id)
    return {key: record.blob(fact.outputs_blob) for key, fact in record.nodes.items()}


def statuses(result: dict) -> dict[str, str]:
    return {nid: n["status"] for nid, n in result["nodes"].items()}


def test_http_run_replays_byte_identical_with_the_server_stopped(flowloom, tmp_path):
    server = WebServer().start()
    path = write(tmp_path / "fetch.loom.json", http_workflow(server.url))
    code, out, err = flowloom("run", path, "--json", "--trust", "-q")
    assert code == 0, err
    recorded = json.loads(out)
    server.stop()
    assert len(server.requests_to("/echo")) == 1

    code, out, err = flowloom("replay", recorded["run_id"], "--json", "-q")

    assert code == 0, err
    replayed = json.loads(out)
    assert replayed["replay_of"] == recorded["run_id"]
    assert replayed["run_id"] != recorded["run_id"]
    assert set(replayed) == set(recorded) | {"replay_of"}
    assert json.dumps(replayed["outputs"]) == json.dumps(recorded["outputs"])
    assert recorded["outputs"]["result"]["echo"] == {"n": "3"}
    assert statuses(replayed) == statuses(recorded)
    assert len(server.requests_to("/echo")) == 1  # nothing more reached the server


def test_llm_run_replays_byte_identical_with_the_server_stopped(flowloom, tmp_path,
                                                                history_db):
    server = LLMServer().start()
    # a slow answer: a latency timed on the real clock could not come out the same again
    server.script(reply("The loom weaves threads into cloth.", first_delay_s=0.05,
                        chunk_delay_s=0.01))
    path = write(tmp_path / "ask.loom.json",
                 llm_workflow(server.url, model="test-model", temperature=0.2,
                              system="be brief"))
    code, out, err = flowloom("run", path, "--json", "--trust", "-q")
    assert code == 0, err
    recorded = json.loads(out)
    server.stop()

    code, out, err = flowloom("replay", recorded["run_id"], "--json", "-q")

    assert code == 0, err
    replayed = json.loads(out)
    assert recorded["outputs"]["answer"] == "The loom weaves threads into cloth."
    assert recorded["outputs"]["usage"]["latency_s"] >= 0.05
    assert json.dumps(replayed["outputs"], sort_keys=True) == json.dumps(
        recorded["outputs"], sort_keys=True)
    assert statuses(replayed) == statuses(recorded)
    # every node's outputs, not only the workflow's: the same bytes in both records
    first, again = (recorded_outputs(history_db, r) for r in (recorded["run_id"],
                                                               replayed["run_id"]))
    assert set(first) == set(again) and first[("ask", "")] is not None
    assert again == first
    assert len(server.chat_bodies()) == 1


def test_llm_completion_is_recorded_with_its_model_and_parameters(flowloom, tmp_path,
                                                                  history_db):
    from engine.history.lite import LiteStore
    from engine.record.store import load_record

    with LLMServer() as server:
        path = write(tmp_path / "ask.loom.json",
                     llm_workflow(server.url, model="tiny-model", temperature=0.7,
                                  max_tokens=50))
        code, out, err = flowloom("run", path, "--json", "--trust", "-q")
    assert code == 0, err
    with LiteStore.open(history_db) as store:
        record = load_record(store, json.loads(out)["run_id"])
    (exchange,) = record.http
    assert exchange.node_id == "ask" and exchange.method == "POST"
    assert exchange.llm == {"model": "tiny-model",
                            "params": {"temperature": 0.7, "max_tokens": 50, "stream": True}}
    assert exchange.body.endswith(b"data: [DONE]\n\n") and exchange.complete
    assert exchange.status == 200 and ("content-type", "text/event-stream") in [
        (k.lower(), v.split(";")[0]) for k, v in exchange.headers]


def test_live_from_serves_upstream_from_the_record_and_runs_the_rest(flowloom, tmp_path):
    first, second = WebServer().start(), WebServer().start()
    doc = workflow("two calls", [
        node("start", "flow.start", inputs={"n": 1}),
        node("a", "net.http", 200, url=first.url + "/echo?step=a"),
        node("b", "net.http", 400, url=second.url + "/echo?step=b&n={{ input.status }}"),
        node("out", "flow.output", 600, name="b"),
    ], [edge("start", "a"), edge("a", "b", "response", "in"),
        edge("b", "out", "response", "in")])
    path = write(tmp_path / "two.loom.json", doc)
    code, out, err = flowloom("run", path, "--json", "--trust", "-q")
    assert code == 0, err
    run_id = json.loads(out)["run_id"]
    first.stop()  # a's server is gone: a must come from the record

    code, out, err = flowloom("replay", run_id, "--json", "-q", "--live-from", "b", "--trust")

    second.stop()
    assert code == 0, err
    assert json.loads(out)["nodes"]["b"]["status"] == "succeeded"
    assert len(first.requests_to("/echo")) == 1
    assert len(second.requests_to("/echo")) == 2  # b ran for real again


def test_a_run_without_a_record_says_it_cannot_be_replayed(flowloom, tmp_path):
    path = write(tmp_path / "calc.loom.json", workflow("calc", [
        node("start", "flow.start", inputs={"n": 2}),
        node("out", "flow.output", 200, name="n"),
    ], [edge("start", "out")]))
    code, out, err = flowloom("run", path, "--json", "--no-record", "-q")
    assert code == 0, err
    run_id = json.loads(out)["run_id"]

    code, out, err = flowloom("replay", run_id, "--json")

    assert code == 2 and out == ""
    assert f"run {run_id} cannot be replayed" in err and "no record" in err
    code, _, err = flowloom("replay", "nosuchrun")
    assert code == 2 and "no run with this id" in err


def test_a_replay_whose_request_differs_from_the_record_names_the_node(flowloom, tmp_path,
                                                                       history_db):
    with WebServer() as server:
        path = write(tmp_path / "fetch.loom.json", http_workflow(server.url))
        code, out, err = flowloom("run", path, "--json", "--trust", "-q")
    assert code == 0, err
    run_id = json.loads(out)["run_id"]
    import sqlite3  # the recorded request is changed behind the record's back

    with sqlite3.connect(history_db) as conn:
        conn.execute("UPDATE record_items SET meta_json = replace(meta_json, 'n=3', 'n=4') "
                     "WHERE run_id = ? AND kind = 'http'", (run_id,))

    code, out, err = flowloom("replay", run_id, "--json", "-q")

    assert code == 2
    assert f"run {run_id} cannot be replayed: node 'fetch'" in err
    assert "no response to its POST" in err


def test_run_json_run_id_is_the_id_history_shows(flowloom, tmp_path):
    path = write(tmp_path / "calc.loom.json", workflow("calc", [
        node("start", "flow.start", inputs={"n": 2}),
        node("out", "flow.output", 200, name="n"),
    ], [edge("start", "out")]))
    code, out, _ = flowloom("run", path, "--json", "-q")
    run_id = json.loads(out)["run_id"]

    code, out, _ = flowloom("history", "--json", "--limit", "1")

    assert code == 0 and [r["id"] for r in json.loads(out)] == [run_id]
