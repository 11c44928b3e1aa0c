"""ai.chat / ai.agent `fallbacks`: a server that is down, one that answers 503, empty answers."""

from __future__ import annotations

import pytest

from nodes.llm import TYPES
from tests.agents.support import AGENT, agent_logs, calculator, run_agent
from tests.servers.llm import LLMServer, error, reply, tool_call
from tests.servers.workflows import registry_with, run_node

pytest_plugins = ["tests.servers.fixtures"]

REGISTRY = registry_with(*TYPES)


@pytest.fixture(autouse=True)
def _no_provider_environment(monkeypatch, tmp_path):
    for name in ("OPENAI_BASE_URL", "OLLAMA_HOST", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FLOWLOOM_MEMORY_DB", str(tmp_path / "memory.db"))


async def chat(base_url: str, fallbacks: list, provider: str = "openai", **params):
    secrets = params.pop("_secrets", None)
    settings = {"provider": provider, "base_url": base_url, "model": "main-model",
                "fallbacks": fallbacks, **params}
    return await run_node(REGISTRY, "ai.chat", settings, {"prompt": "hi"}, secrets=secrets)


def _logged(outcome) -> str:
    return "\n".join(e.message for e in outcome.logs())


@pytest.mark.asyncio
@pytest.mark.parametrize("provider", ["openai", "ollama"])
async def test_a_server_that_is_down_moves_on_to_the_fallback(llm_server, dead_url, provider):
    llm_server.script(reply("from the backup"))
    outcome = await chat(dead_url, [{"provider": provider, "base_url": llm_server.url,
                                     "model": "backup-model"}])
    assert outcome.ok, outcome.error
    assert outcome.outputs["text"] == "from the backup"
    usage = outcome.outputs["usage"]
    assert (usage["server"], usage["model"]) == (llm_server.url, "backup-model")
    assert llm_server.chat_bodies()[0]["model"] == "backup-model"
    log = _logged(outcome)
    assert f"cannot reach the openai server {dead_url}" in log
    assert "moving on to fallback 1 of 1" in log and llm_server.url in log


@pytest.mark.asyncio
async def test_a_server_answering_503_moves_on_and_the_key_stays_home(llm_server):
    llm_server.script(error(503, "overloaded"))
    llm_server.api_key = "sk-main-secret-123"
    with LLMServer() as backup:
        backup.script(reply("second server"))
        outcome = await chat(llm_server.url, [{"base_url": backup.url, "model": "b"}],
                             api_key_secret="main", _secrets={"main": "sk-main-secret-123"})
        assert outcome.ok, outcome.error
        assert outcome.outputs["usage"]["server"] == backup.url
        assert outcome.outputs["usage"]["model"] == "b"
        # the primary's key is never sent to another server
        assert all("authorization" not in r.headers for r in backup.requests)
    assert "answered 503" in _logged(outcome) and "overloaded" in _logged(outcome)
    assert "sk-main-secret-123" not in outcome.text_of_events()


@pytest.mark.asyncio
async def test_a_bad_request_does_not_move_on(llm_server):
    llm_server.script(error(400, "bad model name"))
    with LLMServer() as backup:
        outcome = await chat(llm_server.url, [{"base_url": backup.url, "model": "b"}])
        assert not outcome.ok
        assert "answered 400" in outcome.error
        assert backup.requests == []


@pytest.mark.asyncio
async def test_an_empty_answer_is_a_failure_that_says_so(llm_server):
    llm_server.script(reply(""))
    outcome = await chat(llm_server.url, [])
    assert not outcome.ok
    assert outcome.error == (f"the openai server {llm_server.url} (model 'main-model') gave "
                             f"an empty answer")


@pytest.mark.asyncio
async def test_an_empty_answer_moves_on_and_every_reason_is_given_when_all_fail(
        llm_server, dead_url):
    llm_server.script(reply("   "), reply(""))
    outcome = await chat(llm_server.url, [{"base_url": dead_url, "model": "x"},
                                          {"base_url": llm_server.url, "model": "y"}])
    assert not outcome.ok
    assert outcome.error.startswith("no server gave an answer (3 tried): ")
    assert "(model 'main-model') gave an empty answer" in outcome.error
    assert f"cannot reach the openai server {dead_url}" in outcome.error
    assert "(model 'y') gave an empty answer" in outcome.error


@pytest.mark.parametrize(("fallbacks", "sentence"), [
    ("http://x", "fallbacks must be a list"),
    ([{"model": ""}], "fallbacks[0] needs a model"),
    ([{"model": "m", "provider": "azure"}], "fallbacks[0].provider must be one of"),
    ([{"model": "m", "base_url": "ftp://x"}], "fallbacks[0].base_url must start with"),
    ([{"model": "m", "url": "x"}], "fallbacks[0] has unknown key(s) 'url'"),
])
def test_bad_fallbacks_are_refused_with_a_sentence(fallbacks, sentence):
    chat_type = REGISTRY.get("ai.chat")
    params = chat_type.with_defaults({"model": "m", "fallbacks": fallbacks})
    problems = chat_type.check_params(params)
    assert any(sentence in p for p in problems), problems


@pytest.mark.asyncio
async def test_the_agent_moves_on_mid_conversation_and_stays_on_the_fallback(llm_server):
    llm_server.script(tool_call("calc", {"expression": "6*7"}), error(502, "gateway"))
    with LLMServer() as backup:
        backup.script(reply("It is 42."))
        result, events = await run_agent(llm_server.url, "openai", [calculator()],
                                         prompt="6*7?", fallbacks=[
                                             {"provider": "ollama", "base_url": backup.url,
                                              "model": "llama"}])
        assert result.ok, result.error
        assert result.outputs["text"] == "It is 42."
        (body,) = backup.chat_bodies()
        assert body["model"] == "llama"
        assert any(m.get("role") == "tool" for m in body["messages"])  # the conversation
    logs = "\n".join(agent_logs(events))
    assert "answered 502" in logs and "moving on to fallback 1 of 1" in logs
    assert result.nodes[AGENT].status == "succeeded"


def test_a_fallbacks_server_is_declared_in_the_nodes_needs(llm_server, dead_url):
    chat_type = REGISTRY.get("ai.chat")
    params = chat_type.with_defaults({"model": "m", "base_url": dead_url, "fallbacks": [
        {"provider": "ollama", "base_url": llm_server.url, "model": "b"}]})
    needs = chat_type.needs(params, None)
    assert [n.param for n in needs] == ["base_url", "fallbacks[0].base_url"]
    assert needs[1].target == llm_server.url.removeprefix("http://")
