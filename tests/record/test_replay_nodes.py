"""Replays of the node types whose outputs could carry the time of the run: an agent's answer
and transcript, a delay's value, and an HTTP response (its elapsed time is only logged) come
out byte for byte the same with their servers stopped."""

from __future__ import annotations

import json

from tests.record.conftest import edge, node, workflow, write
from tests.record.test_replay import recorded_outputs, statuses
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
