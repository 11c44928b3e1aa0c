"""`flowloom plan` against the scripted LLM server: repair rounds, refusal, masking."""

from __future__ import annotations

import json

from tests.cli.conftest import cli_env, run_cli
from tests.servers.llm import error, reply

pytest_plugins = ["tests.servers.fixtures"]


def _draft(node_type: str = "data.expression", explanation: str = "Greets the name given.",
           fenced: bool = False) -> str:
    workflow = {
        "format": "flowloom.workflow", "version": 1, "name": "Greeter", "description": "",
        "nodes": [
            {"id": "start", "type": "flow.start", "title": "Start",
             "params": {"inputs": {"name": "Ada"}}, "position": [0, 0]},
            {"id": "greet", "type": node_type, "title": "Greet",
             "params": {"expr": "'Hello ' + x['name']"}, "position": [300, 0]},
            {"id": "out", "type": "flow.output", "title": "Greeting",
             "params": {"name": "greeting"}, "position": [600, 0]}],
        "edges": [
            {"source": "start", "source_port": "out", "target": "greet", "target_port": "x"},
            {"source": "greet", "source_port": "out", "target": "out", "target_port": "in"}]}
    text = json.dumps({"explanation": explanation, "workflow": workflow})
    return f"Here it is:\n```json\n{text}\n```" if fenced else text


def _plan(server, target, goal="greet a person by name", env=None):
    return run_cli("plan", goal, "-o", str(target), "--base-url", server.url,
                   "--model", "test-model", env=env or cli_env(OPENAI_API_KEY=None))


def test_a_draft_with_an_unknown_node_type_is_repaired_and_the_result_runs(
        llm_server, tmp_path):
    llm_server.script(reply(_draft("text.greet_magic")), reply(_draft(fenced=True)))
    target = tmp_path / "greeter.loom.json"
    out = _plan(llm_server, target)
    assert out.returncode == 0, out.stderr
    assert "Greets the name given." in out.stdout
    assert "draft 1 has 2 problems" in out.stderr  # the type, and its edge
    bodies = llm_server.chat_bodies()
    assert len(bodies) == 2
    system = bodies[0]["messages"][0]["content"]
    # The node catalogue comes from the registry's specs: types, ports and params.
    assert "data.expression" in system and "param expr:expression" in system
    assert "ai.chat" in system and "flowloom.workflow" in system
    assert "Hello Flowloom" in bodies[0]["messages"][1]["content"]  # the starting template
    repair = bodies[1]["messages"][-1]["content"]
    assert "text.greet_magic" in repair and "greet" in repair
    assert bodies[1]["messages"][-2]["role"] == "assistant"
    ran = run_cli("run", str(target), "--json", "--no-history")
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["outputs"] == {"greeting": "Hello Ada"}


def test_three_bad_drafts_fail_with_the_problems_and_write_nothing(llm_server, tmp_path):
    llm_server.script(reply(_draft("text.nope")), reply("I cannot do JSON, sorry."),
                      reply(_draft("text.still_nope")))
    target = tmp_path / "never.loom.json"
    out = _plan(llm_server, target)
    assert out.returncode == 1
    assert "no draft validated after 3 rounds" in out.stderr
    assert "text.still_nope" in out.stderr and "Traceback" not in out.stderr
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []
    assert len(llm_server.chat_bodies()) == 3
    second = llm_server.chat_bodies()[2]["messages"][-1]["content"]
    assert "not one JSON object" in second


def test_a_key_the_server_echoes_never_reaches_the_output(llm_server, tmp_path):
    key = "sk-planner-very-secret-0123456789"
    llm_server.api_key = "the-right-key"
    target = tmp_path / "x.loom.json"
    out = _plan(llm_server, target, env=cli_env(OPENAI_API_KEY=key))
    assert out.returncode == 1 and not target.exists()
    assert "401" in out.stderr
    assert key not in out.stderr + out.stdout and key[:12] not in out.stderr


def test_a_server_error_is_one_sentence(llm_server, tmp_path):
    llm_server.script(error(500, "boom"))
    out = _plan(llm_server, tmp_path / "x.loom.json")
    assert out.returncode == 1
    assert "the model could not be asked" in out.stderr and "Traceback" not in out.stderr


def test_plan_without_a_model_is_bad_usage(tmp_path):
    out = run_cli("plan", "anything", "-o", str(tmp_path / "x.loom.json"))
    assert out.returncode == 2 and "--model" in out.stderr
