"""ai.agent against the scripted OpenAI- and Ollama-speaking test server: tool calls drawn on
the canvas, parallel calls, tool errors told to the model, the step cap, sub-workflows as tools
and the short-term history budget."""

from __future__ import annotations

import pytest

from engine import events as ev
from engine.fileformat import save
from engine.model import Node
from nodes.agent import trim_history
from tests.agents.support import (
    AGENT,
    agent_logs,
    agent_workflow,
    calculator,
    of_type,
    run_agent,
    tool_contents,
    tool_messages,
)
from tests.nodes.flowrun import run_flow, wf
from tests.servers.llm import Answer, ToolCall, reply, tool_call

pytest_plugins = ["tests.servers.fixtures"]

PROVIDERS = ["openai", "ollama"]


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    for name in ("OPENAI_BASE_URL", "OLLAMA_HOST", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FLOWLOOM_MEMORY_DB", str(tmp_path / "memory.db"))


@pytest.mark.asyncio
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_two_step_calculation_goes_through_the_calculator_tool(llm_server, provider):
    llm_server.script(tool_call("calc", {"expression": "6*7"}),
                      tool_call("calc", {"expression": "42 + 8"}),
                      reply("The answer is 50."))
    result, events = await run_agent(llm_server.url, provider, [calculator()],
                                     prompt="What is 6*7+8?", system="Use the tools.")
    assert result.ok, result.error
    assert result.outputs["text"] == "The answer is 50."
    first, second, third = llm_server.chat_bodies()
    assert [t["function"]["name"] for t in first["tools"]] == ["calc"]
    schema = first["tools"][0]["function"]
    assert schema["parameters"]["properties"]["expression"]["type"] == "string"
    assert "Calculator" in schema["description"]
    assert (first.get("tool_choice") == "auto") == (provider == "openai")
    assert tool_contents(second) == [{"result": 42}]
    assert tool_contents(third) == [{"result": 42}, {"result": 50}]
    if provider == "openai":
        assistant = [m for m in third["messages"] if m["role"] == "assistant"]
        call_ids = [m["tool_calls"][0]["id"] for m in assistant]
        assert [m["tool_call_id"] for m in tool_messages(third)] == call_ids
        assert assistant[0]["tool_calls"][0]["function"]["arguments"] == '{"expression": "6*7"}'
    else:
        assert [m["tool_name"] for m in tool_messages(third)] == ["calc", "calc"]
        assistant = [m for m in third["messages"] if m["role"] == "assistant"]
        assert assistant[0]["tool_calls"][0]["function"]["arguments"] == {"expression": "6*7"}
    transcript = result.outputs["transcript"]
    assert [m["role"] for m in transcript] == ["system", "user", "assistant", "tool",
                                               "assistant", "tool", "assistant"]
    assert transcript[2]["tool_calls"][0]["arguments"] == {"expression": "6*7"}
    assert transcript[-1]["content"] == "The answer is 50."
    # The canvas lights the tool up: two runs of the calculator under its own id.
    assert len(of_type(events, ev.NodeFinished, "calc")) == 2
    logs = agent_logs(events)
    assert any('calls calc({"expression": "6*7"})' in m for m in logs)
    assert any('calc → {"result": 50}' in m for m in logs)
    assert of_type(events, ev.NodeProgressed, AGENT)


@pytest.mark.asyncio
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_several_tool_calls_in_one_answer_run_at_the_same_time(llm_server, provider):
    slow = [Node(n, "util.delay", title=f"Wait {n}", params={"seconds": 0.3})
            for n in ("slow_a", "slow_b")]
    llm_server.script(Answer(tool_calls=[ToolCall("slow_a", {"in": "A"}),
                                         ToolCall("slow_b", {"in": "B"})]),
                      reply("both done"))
    result, events = await run_agent(llm_server.url, provider, slow)
    assert result.ok, result.error
    assert len(llm_server.chat_bodies()) == 2
    assert tool_contents(llm_server.chat_bodies()[1]) == [{"out": "A"}, {"out": "B"}]
    timeline = [(type(e).__name__, e.node_id) for e in events
                if isinstance(e, ev.NodeStarted | ev.NodeFinished) and e.node_id in
                ("slow_a", "slow_b")]
    # Both started before either finished: the calls overlapped.
    assert [kind for kind, _ in timeline] == ["NodeStarted", "NodeStarted",
                                              "NodeFinished", "NodeFinished"]


@pytest.mark.asyncio
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_failing_tool_returns_its_error_and_the_model_recovers(llm_server, provider):
    llm_server.script(tool_call("calc", {"expression": "1/0"}),
                      tool_call("calc", {"expression": "1/4"}),
                      reply("It is 0.25."))
    result, events = await run_agent(llm_server.url, provider, [calculator()])
    assert result.ok, result.error
    assert result.outputs["text"] == "It is 0.25."
    bodies = llm_server.chat_bodies()
    (error_text,) = tool_contents(bodies[1])
    assert error_text.startswith("Error: calc failed") and "divides by zero" in error_text
    assert tool_contents(bodies[2])[-1] == {"result": 0.25}
    assert len(of_type(events, ev.NodeFailed, "calc")) == 1
    assert result.outputs["transcript"][2]["ok"] is False


@pytest.mark.asyncio
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_tool_that_does_not_exist_is_told_to_the_model(llm_server, provider):
    llm_server.script(tool_call("search_web", {"q": "news"}), reply("Sorry, no search."))
    result, events = await run_agent(llm_server.url, provider, [calculator()])
    assert result.ok, result.error
    (message,) = tool_contents(llm_server.chat_bodies()[1])
    assert "no tool named 'search_web'" in message and "the tools are: calc" in message
    assert not of_type(events, ev.NodeStarted, "calc")


@pytest.mark.asyncio
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_arguments_that_do_not_fit_the_schema_are_told_to_the_model(llm_server, provider):
    llm_server.script(Answer(tool_calls=[ToolCall("calc", {"formula": "1+1"}),
                                         ToolCall("calc", {"expression": 5})]),
                      tool_call("calc", {}), reply("giving up"))
    result, events = await run_agent(llm_server.url, provider, [calculator()])
    assert result.ok, result.error
    bodies = llm_server.chat_bodies()
    unknown, wrong_type = tool_contents(bodies[1])
    assert "has no argument 'formula'" in unknown and "expression" in unknown
    assert "argument 'expression' of calc must be str, got number" in wrong_type
    # {} fits the schema (both ports optional): the calculator then fails on its default x.
    assert "calc failed" in tool_contents(bodies[2])[-1]
    assert len(of_type(events, ev.NodeStarted, "calc")) == 1


@pytest.mark.asyncio
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_the_step_cap_fails_the_node_with_the_transcript_so_far(llm_server, provider):
    llm_server.script(*(tool_call("calc", {"expression": f"{i}+1"}) for i in range(5)))
    result, events = await run_agent(llm_server.url, provider, [calculator()], max_steps=3)
    assert not result.ok
    error = result.nodes[AGENT].error
    assert "no final answer after max_steps=3" in error and "transcript so far" in error
    assert len(llm_server.chat_bodies()) == 3
    (dump,) = [m for m in agent_logs(events) if m.startswith("transcript so far")]
    assert '"content": "{\\"result\\": 3}"' in dump  # the third call's result is in it
    assert result.nodes["out_text"].status == "skipped"


@pytest.mark.asyncio
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_sub_workflow_is_a_tool(llm_server, provider, tmp_path):
    child = tmp_path / "times_ten.loom.json"
    save(wf(Node("start", "flow.start", params={"inputs": {"n": 0}}),
            Node("times", "data.expression", params={"expr": "x['n'] * 10"}),
            Node("o", "flow.output", params={"name": "ten"}),
            edges="start.out->times.x, times.out->o.in"), child)
    tool = Node("times_ten", "flow.subworkflow", title="Times ten",
                params={"path": str(child)})
    llm_server.script(tool_call("times_ten", {"in": {"n": 4}}), reply("4 times ten is 40."))
    result, events = await run_agent(llm_server.url, provider, [tool])
    assert result.ok, result.error
    assert tool_contents(llm_server.chat_bodies()[1]) == [{"out": {"ten": 40}}]
    assert len(of_type(events, ev.NodeFinished, "times_ten")) == 1


@pytest.mark.asyncio
async def test_the_history_budget_drops_the_oldest_turns_but_keeps_system_and_task(llm_server):
    llm_server.script(tool_call("calc", {"expression": "1+1"}),
                      tool_call("calc", {"expression": "2+2"}),
                      tool_call("calc", {"expression": "3+3"}), reply("done"))
    result, events = await run_agent(llm_server.url, "openai", [calculator()],
                                     prompt="Add things", system="Be exact.", history_budget=4)
    assert result.ok, result.error
    last = llm_server.chat_bodies()[-1]["messages"]
    assert [m["role"] for m in last] == ["system", "user", "assistant", "tool"]
    assert last[0]["content"] == "Be exact." and last[1]["content"] == "Add things"
    assert tool_contents({"messages": last}) == [{"result": 6}]
    assert any("dropped the 4 oldest messages" in m for m in agent_logs(events))
    assert len(result.outputs["transcript"]) == 9  # the transcript keeps everything


def test_trim_history_keeps_tool_results_with_their_call():
    msgs = [{"role": "system"}, {"role": "user", "content": "old"},
            {"role": "assistant", "tool_calls": [1]}, {"role": "tool"}, {"role": "tool"},
            {"role": "user", "content": "new"}, {"role": "assistant", "content": "hi"}]
    kept, dropped = trim_history(msgs, 4)
    assert dropped == 4
    assert kept == [msgs[0], msgs[5], msgs[6]]
    assert trim_history(msgs, 0) == (msgs, 0)
    assert trim_history(msgs, 7) == (msgs, 0)


@pytest.mark.asyncio
async def test_no_server_fails_naming_the_server_the_model_and_the_step(dead_url):
    result, _ = await run_agent(dead_url, "openai", [calculator()])
    error = result.nodes[AGENT].error
    assert error.startswith("step 1: cannot reach the openai server") and dead_url in error
    assert "'test-model'" in error


@pytest.mark.asyncio
async def test_messages_input_is_the_conversation_and_tools_are_optional(llm_server):
    conversation = [{"role": "user", "content": "Hi"},
                    {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "Bye"}]
    workflow = agent_workflow(llm_server.url, "ollama", [], prompt=conversation,
                              input_port="messages")
    llm_server.script(reply("Goodbye"))
    result, _ = await run_flow(workflow)
    assert result.ok, result.error
    (body,) = llm_server.chat_bodies()
    assert [m["content"] for m in body["messages"]] == ["Hi", "Hello", "Bye"]
    assert "tools" not in body
    assert result.outputs["text"] == "Goodbye"
