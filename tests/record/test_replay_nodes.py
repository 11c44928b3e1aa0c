"""Replays of the node types whose outputs could carry the time of the run: an agent's answer
and transcript, a delay's value, and an HTTP response (its elapsed time is only logged) come
out byte for byte the same with their servers stopped."""

from __future__ import annotations

import json

from tests.record.conftest import edge, node, workflow, write
from tests.record.test_replay import recorded_outputs, statuses
from tests.servers.base import closed_port_url
from tests.servers.llm import LLMServer, reply, tool_call
from tests.servers.web import WebServer


def replay_matches(flowloom, history_db, path: str, stop) -> dict:
    """Run `path`, call `stop()`, replay the run: the whole `run --json` outputs, the status of
    every node and every node's recorded outputs are the same. The recorded run's JSON."""
    code, out, err = flowloom("run", path, "--json", "--trust", "-q")
    assert code == 0, err
    recorded = json.loads(out)
    stop()

    code, out, err = flowloom("replay", recorded["run_id"], "--json", "-q")

    assert code == 0, err
    replayed = json.loads(out)
    assert json.dumps(replayed["outputs"], sort_keys=True) == json.dumps(
        recorded["outputs"], sort_keys=True)
    assert statuses(replayed) == statuses(recorded)
    first = recorded_outputs(history_db, recorded["run_id"])
    again = recorded_outputs(history_db, replayed["run_id"])
    assert first and again == first
    return recorded


def test_an_agent_with_a_tool_replays_byte_identical(flowloom, tmp_path, history_db):
    server = LLMServer().start()
    server.script(tool_call("calc", {"expression": "6*7"}, first_delay_s=0.03),
                  reply("It is 42.", first_delay_s=0.03, chunk_delay_s=0.01))
    path = write(tmp_path / "agent.loom.json", workflow("agent", [
        node("prompt", "data.value", value="what is 6*7?"),
        node("agent", "ai.agent", 200, provider="openai", base_url=server.url + "/v1",
             model="test-model"),
        node("calc", "tool.calculator", 100),
        node("text", "flow.output", 400, name="text"),
        node("transcript", "flow.output", 400, name="transcript"),
    ], [edge("prompt", "agent", "out", "prompt"), edge("calc", "agent", "result", "tools"),
        edge("agent", "text", "text", "in"), edge("agent", "transcript", "transcript", "in")]))

    recorded = replay_matches(flowloom, history_db, path, server.stop)

    assert recorded["outputs"]["text"] == "It is 42."
    assert any(m.get("role") == "tool" for m in recorded["outputs"]["transcript"])
    assert len(server.chat_bodies()) == 2  # the replay asked nothing


def test_a_delay_and_an_http_response_replay_byte_identical(flowloom, tmp_path, history_db):
    server = WebServer().start()
    path = write(tmp_path / "slow.loom.json", workflow("slow", [
        node("start", "flow.start", inputs={"n": 1}),
        node("wait", "util.delay", 100, seconds=0.05),
        node("fetch", "net.http", 200, url=server.url + "/echo?n={{ input.n }}"),
        node("out", "flow.output", 400, name="response"),
    ], [edge("start", "wait"), edge("wait", "fetch"), edge("fetch", "out", "response", "in")]))

    recorded = replay_matches(flowloom, history_db, path, server.stop)

    assert recorded["outputs"]["response"]["status"] == 200
    assert len(server.requests_to("/echo")) == 1


def test_a_replay_says_what_it_serves_and_which_file_nodes_read_the_disk_now(flowloom, tmp_path):
    data = tmp_path / "notes.txt"
    data.write_text("first", encoding="utf-8")
    path = write(tmp_path / "read.loom.json", workflow("read", [
        node("load", "file.read", 0, path="notes.txt", format="text"),
        node("shout", "data.expression", 100, expr="x.upper()"),
        node("out", "flow.output", 200, name="text"),
    ], [edge("load", "shout", "out", "x"), edge("shout", "out")]))
    code, out, err = flowloom("run", path, "--json", "--trust", "-q")
    assert code == 0, err
    run_id = json.loads(out)["run_id"]
    data.write_text("second", encoding="utf-8")

    code, out, err = flowloom("replay", run_id, "--json")

    assert code == 0, err
    assert "clock reads, random draws, approval decisions and sub-workflow files come " \
           "from the record" in err
    assert (f"not recorded, done for real now: load (file.read) reads {data.resolve()} as "
            f"it is now") in err
    assert "shout" not in err.split("done for real now:")[1].splitlines()[0]
    # as it says: the file is read as it is now
    assert json.loads(out)["outputs"]["text"] == "SECOND"


def test_an_llm_failover_past_a_dead_server_replays_byte_identical(flowloom, tmp_path,
                                                                   history_db):
    dead_url = closed_port_url()
    server = LLMServer().start()
    server.script(reply("from the backup", first_delay_s=0.03))
    path = write(tmp_path / "failover.loom.json", workflow("failover", [
        node("prompt", "data.value", value="hi"),
        node("ask", "ai.chat", 200, provider="openai", base_url=dead_url, model="main",
             fallbacks=[{"provider": "openai", "base_url": server.url, "model": "backup"}]),
        node("text", "flow.output", 400, name="text"),
        node("usage", "flow.output", 400, name="usage"),
    ], [edge("prompt", "ask", "out", "prompt"), edge("ask", "text", "text", "in"),
        edge("ask", "usage", "usage", "in")]))

    recorded = replay_matches(flowloom, history_db, path, server.stop)

    assert recorded["outputs"]["text"] == "from the backup"
    assert recorded["outputs"]["usage"]["server"] == server.url
    assert len(server.chat_bodies()) == 1
