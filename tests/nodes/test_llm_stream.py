"""The SSE / NDJSON chat-stream parsers, fed by hand and by the real test server."""

from __future__ import annotations

import json

import httpx
import pytest

from nodes.llm_stream import OllamaStream, OpenAIStream, StreamProblem, parse_openai_whole
from tests.servers.llm import reply, tool_call

pytest_plugins = ["tests.servers.fixtures"]


def sse(*objects: object) -> list[str]:
    lines: list[str] = []
    for obj in objects:
        payload = obj if isinstance(obj, str) else json.dumps(obj)
        lines += [f"data: {payload}", ""]
    return lines


def delta(**fields: object) -> dict:
    return {"choices": [{"index": 0, "delta": fields, "finish_reason": None}]}


def feed(parser, lines):
    return [parser.feed(line) for line in lines]


def test_openai_stream_joins_deltas_and_reads_usage():
    parser = OpenAIStream()
    news = feed(parser, [": keep-alive", ""] + sse(
        delta(role="assistant", content=""), delta(content="Hel"), delta(content="lo"),
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2}}, "[DONE]"))
    assert [n for n in news if n] == ["Hel", "lo"]
    answer = parser.finish()
    assert (answer.text, answer.finish_reason) == ("Hello", "stop")
    assert (answer.prompt_tokens, answer.completion_tokens) == (3, 2)


def test_openai_event_data_may_span_several_lines():
    parser = OpenAIStream()
    feed(parser, ['data: {"choices": [{"index": 0,', 'data: "delta": {"content": "x"}}]}', "",
                  "data: [DONE]"])
    assert parser.finish().text == "x"  # the last event needs no trailing blank line


def test_openai_tool_call_arguments_are_assembled_from_fragments():
    parser = OpenAIStream()
    feed(parser, sse(
        delta(tool_calls=[{"index": 0, "id": "c1", "type": "function",
                           "function": {"name": "add", "arguments": ""}}]),
        delta(tool_calls=[{"index": 0, "function": {"arguments": '{"a": 1, '}}]),
        delta(tool_calls=[{"index": 0, "function": {"arguments": '"b": 2}'}}]),
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}, "[DONE]"))
    answer = parser.finish()
    assert answer.tool_calls == [{"id": "c1", "name": "add", "arguments": {"a": 1, "b": 2}}]
    assert answer.text == "" and answer.finish_reason == "tool_calls"


@pytest.mark.parametrize("lines, expected", [
    (sse(delta(content="a"), "{broken"), "chunk 2 is not JSON"),
    (sse(delta(content="a"), {"error": {"message": "overloaded"}}), "mid-stream: overloaded"),
    (sse([1, 2]), "not an object"),
])
def test_openai_bad_chunks_raise(lines, expected):
    with pytest.raises(StreamProblem, match=expected):
        feed(OpenAIStream(), lines)


def test_openai_stream_without_finish_or_done_is_incomplete():
    parser = OpenAIStream()
    feed(parser, sse(delta(content="half an ans")))
    with pytest.raises(StreamProblem, match="ended before the answer was complete"):
        parser.finish()


def test_ollama_stream_reads_text_usage_and_tool_calls():
    parser = OllamaStream()
    lines = [json.dumps({"message": {"role": "assistant", "content": "Hi "}, "done": False}),
             "",
             json.dumps({"message": {"role": "assistant", "content": "", "tool_calls": [
                 {"function": {"name": "look", "arguments": {"q": "x"}}}]}, "done": False}),
             json.dumps({"message": {"role": "assistant", "content": "there"}, "done": True,
                         "done_reason": "stop", "prompt_eval_count": 4, "eval_count": 2})]
    assert [n for n in feed(parser, lines) if n] == ["Hi ", "there"]
    answer = parser.finish()
    assert answer.text == "Hi there"
    assert answer.tool_calls == [{"id": "call_0", "name": "look", "arguments": {"q": "x"}}]
    assert (answer.prompt_tokens, answer.completion_tokens) == (4, 2)


@pytest.mark.parametrize("lines, expected", [
    (['{"message": {"content": "a"}, "done": false}', "nope"], "chunk 2 is not JSON"),
    (['{"error": "model not found"}'], "mid-stream: model not found"),
    (['{"done": true}', '{"message": {"content": "late"}}'], "after the final one"),
])
def test_ollama_bad_chunks_raise(lines, expected):
    with pytest.raises(StreamProblem, match=expected):
        feed(OllamaStream(), lines)


def test_ollama_stream_without_done_is_incomplete():
    parser = OllamaStream()
    feed(parser, ['{"message": {"content": "a"}, "done": false}'])
    with pytest.raises(StreamProblem, match='no "done": true'):
        parser.finish()


def test_a_whole_openai_answer_is_read():
    answer = parse_openai_whole({"choices": [{"message": {"content": "ok"},
                                              "finish_reason": "stop"}],
                                 "usage": {"prompt_tokens": 1, "completion_tokens": 1}})
    assert (answer.text, answer.prompt_tokens) == ("ok", 1)
    with pytest.raises(StreamProblem, match="no choices"):
        parse_openai_whole({"id": "x"})


# --- the test server's tool calls, whole answers and embeddings (for the agent issue) -------

def test_server_streams_scripted_tool_calls_both_dialects(llm_server):
    llm_server.script(tool_call("add", {"a": 1, "b": 2}, "call_x"), tool_call("add", {"a": 5}))
    with httpx.Client(base_url=llm_server.url, timeout=5) as client:
        body = {"model": "m", "messages": [{"role": "user", "content": "add"}], "stream": True}
        with client.stream("POST", "/v1/chat/completions", json=body) as response:
            parser = OpenAIStream()
            for line in response.iter_lines():
                parser.feed(line)
        first = parser.finish()
        with client.stream("POST", "/api/chat", json=body) as response:
            ollama = OllamaStream()
            for line in response.iter_lines():
                ollama.feed(line)
        second = ollama.finish()
    assert first.tool_calls == [{"id": "call_x", "name": "add", "arguments": {"a": 1, "b": 2}}]
    assert first.finish_reason == "tool_calls"
    assert second.tool_calls[0]["name"] == "add"
    assert second.tool_calls[0]["arguments"] == {"a": 5}


def test_server_answers_whole_when_not_streaming(llm_server):
    llm_server.script(reply("whole answer"), tool_call("f", {"x": 1}))
    with httpx.Client(base_url=llm_server.url, timeout=5) as client:
        body = {"model": "m", "messages": [{"role": "user", "content": "q"}], "stream": False}
        text = parse_openai_whole(client.post("/v1/chat/completions", json=body).json())
        call = client.post("/api/chat", json=body).json()
    assert text.text == "whole answer"
    assert call["done"] is True
    assert call["message"]["tool_calls"] == [{"function": {"name": "f", "arguments": {"x": 1}}}]


def test_server_embeddings_are_deterministic_unit_vectors(llm_server):
    with httpx.Client(base_url=llm_server.url, timeout=5) as client:
        openai = client.post("/v1/embeddings", json={"model": "e", "input": ["cat", "dog"]})
        ollama = client.post("/api/embed", json={"model": "e", "input": "cat"})
    vectors = [d["embedding"] for d in openai.json()["data"]]
    assert len(vectors) == 2 and len(vectors[0]) == llm_server.embedding_dim
    assert vectors[0] != vectors[1]
    assert ollama.json()["embeddings"][0] == pytest.approx(vectors[0])
    assert sum(x * x for x in vectors[0]) == pytest.approx(1.0)
