"""ai.chat against the OpenAI- and Ollama-speaking test server, run through the real engine."""

from __future__ import annotations

import asyncio

import pytest

from engine import events as ev
from engine.compile import compile_workflow
from engine.executor import Run
from nodes.llm import TYPES, resolve_base_url
from tests.servers.llm import error, reply
from tests.servers.workflows import registry_with, run_node, single_node_workflow

pytest_plugins = ["tests.servers.fixtures"]

REGISTRY = registry_with(*TYPES)
PROVIDERS = ["openai", "ollama"]


@pytest.fixture(autouse=True)
def _no_provider_environment(monkeypatch):
    for name in ("OPENAI_BASE_URL", "OLLAMA_HOST", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)


async def chat(server_url: str, inputs: dict | None, provider: str = "openai", **params):
    secrets = params.pop("_secrets", None)
    settings = {"provider": provider, "base_url": server_url, "model": "test-model", **params}
    return await run_node(REGISTRY, "ai.chat", settings, inputs, secrets=secrets)


@pytest.mark.asyncio
async def test_openai_answer_is_streamed_into_text_and_usage(llm_server):
    llm_server.script(reply("Héllo wörld, 🚀 lift-off!", prompt_tokens=11,
                            completion_tokens=5))
    outcome = await chat(llm_server.url, {"prompt": "Launch?"}, system="Be brief.",
                         temperature=0.2, max_tokens=50)
    assert outcome.ok, outcome.error
    assert outcome.outputs["text"] == "Héllo wörld, 🚀 lift-off!"
    usage = outcome.outputs["usage"]
    assert (usage["prompt_tokens"], usage["completion_tokens"]) == (11, 5)
    assert usage["latency_s"] >= usage["first_token_s"] >= 0
    (seen,) = llm_server.requests_to("/v1/chat/completions")
    assert seen.json["model"] == "test-model"
    assert seen.json["stream"] is True
    assert seen.json["messages"] == [{"role": "system", "content": "Be brief."},
                                     {"role": "user", "content": "Launch?"}]
    assert (seen.json["temperature"], seen.json["max_tokens"]) == (0.2, 50)
    assert "authorization" not in seen.headers  # no key configured, none sent


@pytest.mark.asyncio
async def test_ollama_answer_is_streamed_as_ndjson(llm_server):
    llm_server.script(reply("Ollama says hi", prompt_tokens=7, completion_tokens=3))
    outcome = await chat(llm_server.url, {"prompt": "hi"}, "ollama", temperature=0.0,
                         max_tokens=20)
    assert outcome.ok, outcome.error
    assert outcome.outputs["text"] == "Ollama says hi"
    assert outcome.outputs["usage"]["prompt_tokens"] == 7
    assert outcome.outputs["usage"]["completion_tokens"] == 3
    (seen,) = llm_server.requests_to("/api/chat")
    assert seen.json["options"] == {"temperature": 0.0, "num_predict": 20}
    assert seen.json["messages"] == [{"role": "user", "content": "hi"}]


@pytest.mark.asyncio
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_messages_input_is_sent_after_the_system_prompt(llm_server, provider):
    history = [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"},
               {"role": "user", "content": "and 3+3?"}]
    outcome = await chat(llm_server.url, {"messages": history}, provider, system="Math.")
    assert outcome.ok, outcome.error
    assert outcome.outputs["text"] == "You said: and 3+3?"
    assert llm_server.chat_bodies()[0]["messages"] == [
        {"role": "system", "content": "Math."}, *history]


@pytest.mark.asyncio
async def test_neither_prompt_nor_messages_is_a_clear_error(llm_server):
    outcome = await chat(llm_server.url, None)
    assert not outcome.ok
    assert "exactly one of the inputs 'prompt' and 'messages'; neither arrived" in outcome.error
    assert llm_server.requests == []


@pytest.mark.asyncio
async def test_both_prompt_and_messages_is_a_clear_error(llm_server):
    outcome = await chat(llm_server.url, {"prompt": "a", "messages": [{"role": "user",
                                                                       "content": "b"}]})
    assert not outcome.ok
    assert "both arrived" in outcome.error


@pytest.mark.asyncio
async def test_a_malformed_message_list_names_the_bad_item(llm_server):
    outcome = await chat(llm_server.url, {"messages": [{"role": "user", "content": "a"},
                                                       {"who": "me"}]})
    assert not outcome.ok
    assert "messages[1]" in outcome.error


@pytest.mark.asyncio
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_partial_text_is_reported_live_and_grows(llm_server, provider):
    text = "one two three four five"
    llm_server.script(reply(text, chunk_delay_s=0.15))
    outcome = await chat(llm_server.url, {"prompt": "count"}, provider)
    assert outcome.ok, outcome.error
    partials = [e.message for e in outcome.progress() if not e.message.startswith("asking")]
    assert len(partials) >= 3
    for shorter, longer in zip(partials, partials[1:]):
        assert longer.startswith(shorter) and len(longer) > len(shorter)
    assert partials[0] != text and partials[-1] == text
    assert all(e.fraction is None for e in outcome.progress())
    finished = next(e for e in outcome.events if type(e).__name__ == "NodeFinished"
                    and e.node_id == "node")
    assert all(e.t <= finished.t for e in outcome.progress())


@pytest.mark.asyncio
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_server_down_names_the_server_and_model(dead_url, provider):
    outcome = await chat(dead_url, {"prompt": "hi"}, provider)
    assert not outcome.ok
    assert f"cannot reach the {provider} server {dead_url} (model 'test-model')" \
        in outcome.error


@pytest.mark.asyncio
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_no_answer_within_the_timeout(llm_server, provider):
    llm_server.script(reply("late", first_delay_s=5))
    outcome = await chat(llm_server.url, {"prompt": "hi"}, provider, timeout_s=0.3)
    assert not outcome.ok
    assert f"the {provider} server {llm_server.url} (model 'test-model') did not answer " \
           f"within 0.3 s" in outcome.error


@pytest.mark.asyncio
async def test_a_stream_that_stalls_mid_way_times_out(llm_server):
    llm_server.script(reply("a b c", chunk_delay_s=5))
    outcome = await chat(llm_server.url, {"prompt": "hi"}, timeout_s=0.4)
    assert not outcome.ok
    assert "did not send the next piece within 0.4 s" in outcome.error


@pytest.mark.asyncio
@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("status, phrase", [(404, "Not Found"), (503, "Service Unavailable")])
async def test_http_errors_quote_the_server_message(llm_server, provider, status, phrase):
    llm_server.script(error(status, "model 'test-model' is not loaded"))
    outcome = await chat(llm_server.url, {"prompt": "hi"}, provider)
    assert not outcome.ok
    assert (f"the {provider} server {llm_server.url} (model 'test-model') answered {status} "
            f"{phrase}: model 'test-model' is not loaded") in outcome.error


@pytest.mark.asyncio
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_malformed_chunk_is_a_clear_error(llm_server, provider):
    llm_server.script(reply("a b c d", malformed_after=2))
    outcome = await chat(llm_server.url, {"prompt": "hi"}, provider)
    assert not outcome.ok
    assert f"malformed stream from the {provider} server {llm_server.url} " \
           f"(model 'test-model')" in outcome.error
    assert "is not JSON" in outcome.error


@pytest.mark.asyncio
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_stream_cut_mid_way_is_a_clear_error(llm_server, provider):
    llm_server.script(reply("alpha beta gamma delta", cut_after=3))
    outcome = await chat(llm_server.url, {"prompt": "hi"}, provider)
    assert not outcome.ok
    assert f"the stream from the {provider} server {llm_server.url} (model 'test-model') " \
           f"was cut after" in outcome.error


@pytest.mark.asyncio
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_stream_ending_without_its_end_marker_is_an_error(llm_server, provider):
    llm_server.script(reply("alpha beta", no_done=True))
    outcome = await chat(llm_server.url, {"prompt": "hi"}, provider)
    assert not outcome.ok
    assert "ended before the answer was complete" in outcome.error
    assert "(model 'test-model')" in outcome.error


@pytest.mark.asyncio
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_an_error_inside_the_stream_is_reported(llm_server, provider):
    llm_server.script(reply("alpha beta gamma", error="server overloaded", error_after=2))
    outcome = await chat(llm_server.url, {"prompt": "hi"}, provider)
    assert not outcome.ok
    assert "reported an error mid-stream: server overloaded" in outcome.error


@pytest.mark.asyncio
async def test_the_api_key_credential_is_sent_and_never_shown(llm_server):
    llm_server.api_key = "sk-right-key"
    wrong = "sk-WRONG-0123456789"
    outcome = await chat(llm_server.url, {"prompt": "hi"}, api_key_secret="openai",
                         _secrets={"openai": wrong})
    assert llm_server.requests[-1].headers["authorization"] == f"Bearer {wrong}"
    assert not outcome.ok
    assert "401" in outcome.error and "Incorrect API key provided" in outcome.error
    assert wrong not in outcome.error
    assert wrong not in outcome.text_of_events()

    ok = await chat(llm_server.url, {"prompt": "hi"}, api_key_secret="openai",
                    _secrets={"openai": "sk-right-key"})
    assert ok.ok, ok.error


@pytest.mark.asyncio
async def test_openai_api_key_from_the_environment_is_the_fallback(llm_server, monkeypatch):
    llm_server.api_key = "sk-env-key"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-key")
    outcome = await chat(llm_server.url, {"prompt": "hi"})
    assert outcome.ok, outcome.error
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-WRONG-42")
    failed = await chat(llm_server.url, {"prompt": "hi"})
    assert not failed.ok
    assert "sk-env-WRONG-42" not in failed.error
    assert "sk-env-WRONG-42" not in failed.text_of_events()


@pytest.mark.asyncio
async def test_a_missing_key_credential_fails_naming_it(llm_server):
    outcome = await chat(llm_server.url, {"prompt": "hi"}, api_key_secret="my_openai")
    assert not outcome.ok
    assert "'my_openai'" in outcome.error
    assert llm_server.requests == []


@pytest.mark.asyncio
async def test_empty_base_url_reads_openai_base_url_from_the_environment(llm_server,
                                                                          monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", llm_server.url + "/v1")
    outcome = await chat("", {"prompt": "via env"})
    assert outcome.ok, outcome.error
    assert outcome.outputs["text"] == "You said: via env"
    assert len(llm_server.requests_to("/v1/chat/completions")) == 1


@pytest.mark.asyncio
async def test_empty_base_url_reads_ollama_host_from_the_environment(llm_server, monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{llm_server.port}")
    outcome = await chat("", {"prompt": "via env"}, "ollama")
    assert outcome.ok, outcome.error
    assert len(llm_server.requests_to("/api/chat")) == 1


@pytest.mark.asyncio
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_json_mode_asks_for_json_and_checks_the_answer(llm_server, provider):
    llm_server.script(reply('{"answer": 42}'), reply("not json at all"))
    outcome = await chat(llm_server.url, {"prompt": "json please"}, provider, json_mode=True)
    assert outcome.ok, outcome.error
    assert outcome.outputs["text"] == '{"answer": 42}'
    body = llm_server.chat_bodies()[0]
    if provider == "openai":
        assert body["response_format"] == {"type": "json_object"}
    else:
        assert body["format"] == "json"
    failed = await chat(llm_server.url, {"prompt": "json please"}, provider, json_mode=True)
    assert not failed.ok
    assert "json_mode is on but the answer" in failed.error and "not json at all" in failed.error


def test_base_url_defaults_and_environment():
    assert resolve_base_url("openai", "", {}) == "https://api.openai.com"
    assert resolve_base_url("ollama", "", {}) == "http://localhost:11434"
    assert resolve_base_url("openai", "", {"OPENAI_BASE_URL": "http://h:1/v1/"}) == \
        "http://h:1/v1"
    assert resolve_base_url("ollama", "", {"OLLAMA_HOST": "0.0.0.0"}) == \
        "http://127.0.0.1:11434"
    assert resolve_base_url("ollama", "", {"OLLAMA_HOST": "https://box:8080"}) == \
        "https://box:8080"
    assert resolve_base_url("ollama", "http://given:1", {"OLLAMA_HOST": "other"}) == \
        "http://given:1"


@pytest.mark.asyncio
async def test_cancelling_the_run_stops_a_slow_stream_promptly(llm_server):
    llm_server.script(reply("one two three four five six", chunk_delay_s=1.0))
    params = {"base_url": llm_server.url, "model": "test-model"}
    compiled = compile_workflow(single_node_workflow(REGISTRY, "ai.chat", params,
                                                     {"prompt": "slow"}), REGISTRY)
    run = Run(compiled)
    partial = asyncio.Event()

    def watch(event):
        if isinstance(event, ev.NodeProgressed) and event.message.startswith("one"):
            partial.set()

    run.subscribe(watch)
    async with asyncio.timeout(5):
        task = asyncio.create_task(run.execute())
        await partial.wait()
        run.cancel()
        result = await task
    assert result.status == "cancelled"
    assert result.nodes["node"].status == "cancelled"
    assert "text" not in result.outputs
