"""An OpenAI- and Ollama-speaking test server with scripted answers.

Routes: `POST /v1/chat/completions` (OpenAI; SSE when `stream` is true), `POST /api/chat`
(Ollama; NDJSON unless `stream` is false), `POST /v1/embeddings`, `POST /api/embed`,
`GET /v1/models`, `GET /api/tags`.

A test queues answers with `server.script(reply("Hi"), tool_call("add", {"a": 1}), ...)`; each
chat request takes the next one (when the queue is empty the server answers
`You said: <last user message>`). An `Answer` is plain text or tool calls, and says how to
misbehave: HTTP error, slow start, slow chunks, a cut connection, a malformed chunk, an error
object inside the stream, or a stream that ends without its end marker. Every request is in
`server.requests`; `server.chat_bodies()` gives the parsed chat request bodies. Set
`server.api_key` to demand `Authorization: Bearer <key>` (a wrong key gets a 401 that echoes it,
as real providers do, so tests can check it never leaks). Embeddings are deterministic vectors
of `embedding_dim` floats derived from a hash of the text.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from tests.servers.base import Exchange, TestServer


@dataclass
class ToolCall:
    name: str
    arguments: dict[str, Any]
    id: str = ""


@dataclass
class Answer:
    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    status: int = 200
    error: str = ""  # the message of an HTTP error or an in-stream error
    chunks: list[str] | None = None  # how the text streams; default: word by word
    first_delay_s: float = 0.0  # before the answer starts
    chunk_delay_s: float = 0.0  # between streamed chunks
    cut_after: int | None = None  # drop the connection after this many chunks
    malformed_after: int | None = None  # send a chunk that is not JSON after this many
    error_after: int | None = None  # send an error object in the stream after this many
    no_done: bool = False  # end the stream cleanly but without its end marker
    prompt_tokens: int | None = None  # default: words in the request's messages
    completion_tokens: int | None = None  # default: number of chunks

    def pieces(self) -> list[str]:
        if self.chunks is not None:
            return list(self.chunks)
        return re.findall(r"\S+\s*|\s+", self.text)


def reply(text: str, **options: Any) -> Answer:
    return Answer(text=text, **options)


def tool_call(name: str, arguments: dict[str, Any], call_id: str = "", **options: Any) -> Answer:
    return Answer(tool_calls=[ToolCall(name, arguments, call_id)], **options)


def error(status: int, message: str, **options: Any) -> Answer:
    return Answer(status=status, error=message, **options)


def embed(text: str, dim: int) -> list[float]:
    """A deterministic unit vector for `text`."""
    digest = hashlib.sha256(text.encode()).digest()
    while len(digest) < dim:
        digest += hashlib.sha256(digest).digest()
    raw = [b / 127.5 - 1.0 for b in digest[:dim]]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [x / norm for x in raw]


class LLMServer(TestServer):
    def __init__(self) -> None:
        super().__init__()
        self.answers: deque[Answer] = deque()
        self.models = ["test-model", "tiny-model"]
        self.api_key: str | None = None
        self.embedding_dim = 8
        self._calls = 0

    def script(self, *answers: Answer) -> None:
        with self.lock:
            self.answers.extend(answers)

    def chat_bodies(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r.json for r in self.requests
                    if r.path in ("/v1/chat/completions", "/api/chat")]

    def _next_answer(self, body: dict[str, Any]) -> Answer:
        with self.lock:
            if self.answers:
                return self.answers.popleft()
        users = [m for m in body.get("messages") or [] if m.get("role") == "user"]
        last = users[-1].get("content", "") if users else ""
        return Answer(text=f"You said: {last}")

    # --- routing --------------------------------------------------------------------------
    def handle(self, ex: Exchange) -> None:
        req = ex.request
        openai = req.path.startswith("/v1/")
        if self.api_key is not None:
            given = req.headers.get("authorization", "")
            if given != f"Bearer {self.api_key}":
                shown = given.removeprefix("Bearer ") or "(none)"
                self._error(ex, openai, 401, f"Incorrect API key provided: {shown}")
                return
        if req.method == "GET" and req.path == "/v1/models":
            ex.send_json(200, {"object": "list", "data": [
                {"id": m, "object": "model", "owned_by": "tests"} for m in self.models]})
        elif req.method == "GET" and req.path == "/api/tags":
            ex.send_json(200, {"models": [{"name": m, "model": m} for m in self.models]})
        elif req.method != "POST" or not isinstance(req.json, dict):
            self._error(ex, openai, 400 if req.method == "POST" else 404,
                        f"no route for {req.method} {req.path} with that body")
        elif req.path == "/v1/chat/completions":
            self._chat(ex, req.json, openai=True)
        elif req.path == "/api/chat":
            self._chat(ex, req.json, openai=False)
        elif req.path in ("/v1/embeddings", "/api/embed"):
            self._embeddings(ex, req.json, openai)
        else:
            self._error(ex, openai, 404, f"no route for {req.path}")

    def _error(self, ex: Exchange, openai: bool, status: int, message: str) -> None:
        if openai:
            ex.send_json(status, {"error": {"message": message, "type": "test_error",
                                            "code": status}})
        else:
            ex.send_json(status, {"error": message})

    def _embeddings(self, ex: Exchange, body: dict[str, Any], openai: bool) -> None:
        given = body.get("input", "")
        texts = [given] if isinstance(given, str) else [str(t) for t in given]
        vectors = [embed(t, self.embedding_dim) for t in texts]
        model = body.get("model", "")
        if openai:
            ex.send_json(200, {"object": "list", "model": model, "data": [
                {"object": "embedding", "index": i, "embedding": v}
                for i, v in enumerate(vectors)],
                "usage": {"prompt_tokens": sum(len(t.split()) for t in texts),
                          "total_tokens": sum(len(t.split()) for t in texts)}})
        else:
            ex.send_json(200, {"model": model, "embeddings": vectors})

    # --- chat -----------------------------------------------------------------------------
    def _chat(self, ex: Exchange, body: dict[str, Any], openai: bool) -> None:
        answer = self._next_answer(body)
        if not ex.sleep(answer.first_delay_s):
            return
        if answer.status >= 400:
            self._error(ex, openai, answer.status, answer.error or "scripted failure")
            return
        with self.lock:
            self._calls += 1
            n = self._calls
        model = body.get("model", "")
        pieces = answer.pieces()
        prompt_tokens = answer.prompt_tokens
        if prompt_tokens is None:
            prompt_tokens = sum(len(str(m.get("content") or "").split())
                                for m in body.get("messages") or [])
        usage = (prompt_tokens, answer.completion_tokens if answer.completion_tokens is not None
                 else max(1, len(pieces)))
        calls = [ToolCall(c.name, c.arguments, c.id or f"call_{n}_{i}")
                 for i, c in enumerate(answer.tool_calls)]
        stream = body.get("stream", not openai)  # Ollama streams unless told not to
        if openai:
            chunks = _openai_chunks(model, n, answer, pieces, calls, usage,
                                    bool((body.get("stream_options") or {}).get("include_usage")))
            if not stream:
                ex.send_json(200, _openai_whole(model, n, answer, calls, usage))
                return
            if answer.no_done:  # neither a finish_reason nor [DONE]: it just stops
                chunks = [c for c in chunks
                          if c["choices"] and c["choices"][0]["finish_reason"] is None]
            self._stream(ex, answer, "text/event-stream",
                         [f"data: {json.dumps(c)}\n\n" for c in chunks], "data: [DONE]\n\n",
                         "data: {oops not json\n\n",
                         f"data: {json.dumps({'error': {'message': answer.error}})}\n\n")
        else:
            chunks = _ollama_chunks(model, answer, pieces, calls, usage)
            if not stream:
                ex.send_json(200, _ollama_whole(model, answer, calls, usage))
                return
            lines = [json.dumps(c) + "\n" for c in chunks]
            self._stream(ex, answer, "application/x-ndjson", lines[:-1], lines[-1],
                         "{oops not json\n", json.dumps({"error": answer.error}) + "\n")

    def _stream(self, ex: Exchange, answer: Answer, content_type: str, parts: list[str],
                final: str, malformed: str, error_part: str) -> None:
        ex.start_stream(200, content_type)
        for i, part in enumerate(parts):
            if answer.cut_after is not None and i >= answer.cut_after:
                ex.cut()
                return
            if answer.malformed_after is not None and i == answer.malformed_after:
                ex.write(malformed)
            if answer.error_after is not None and i == answer.error_after:
                ex.write(error_part)
                ex.end_stream()
                return
            if i and not ex.sleep(answer.chunk_delay_s):
                return
            ex.write(part)
        if not answer.no_done:
            ex.write(final)
        ex.end_stream()


def _openai_chunks(model: str, n: int, answer: Answer, pieces: list[str], calls: list[ToolCall],
                   usage: tuple[int, int], include_usage: bool) -> list[dict[str, Any]]:
    base = {"id": f"chatcmpl-{n}", "object": "chat.completion.chunk",
            "created": int(time.time()), "model": model}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return dict(base, choices=[{"index": 0, "delta": delta, "finish_reason": finish}])

    out = [chunk({"role": "assistant", "content": ""})]
    out += [chunk({"content": p}) for p in pieces]
    for i, call in enumerate(calls):
        args = json.dumps(call.arguments)
        half = len(args) // 2
        out.append(chunk({"tool_calls": [{"index": i, "id": call.id, "type": "function",
                                          "function": {"name": call.name, "arguments": ""}}]}))
        for frag in (args[:half], args[half:]):
            out.append(chunk({"tool_calls": [{"index": i, "function": {"arguments": frag}}]}))
    out.append(chunk({}, "tool_calls" if calls else "stop"))
    if include_usage:
        out.append(dict(base, choices=[], usage=_openai_usage(usage)))
    return out


def _openai_usage(usage: tuple[int, int]) -> dict[str, int]:
    return {"prompt_tokens": usage[0], "completion_tokens": usage[1],
            "total_tokens": usage[0] + usage[1]}


def _openai_whole(model: str, n: int, answer: Answer, calls: list[ToolCall],
                  usage: tuple[int, int]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": answer.text if not calls else None}
    if calls:
        message["tool_calls"] = [{"id": c.id, "type": "function", "function": {
            "name": c.name, "arguments": json.dumps(c.arguments)}} for c in calls]
    return {"id": f"chatcmpl-{n}", "object": "chat.completion", "created": int(time.time()),
            "model": model, "choices": [{"index": 0, "message": message,
                                         "finish_reason": "tool_calls" if calls else "stop"}],
            "usage": _openai_usage(usage)}


def _ollama_final(model: str, usage: tuple[int, int], calls: list[ToolCall]) -> dict[str, Any]:
    return {"model": model, "created_at": _now(), "message": {"role": "assistant", "content": ""},
            "done": True, "done_reason": "stop", "total_duration": 1000,
            "prompt_eval_count": usage[0], "eval_count": usage[1]}


def _ollama_calls(calls: list[ToolCall]) -> list[dict[str, Any]]:
    return [{"function": {"name": c.name, "arguments": c.arguments}} for c in calls]


def _ollama_chunks(model: str, answer: Answer, pieces: list[str], calls: list[ToolCall],
                   usage: tuple[int, int]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {"model": model, "created_at": _now(),
         "message": {"role": "assistant", "content": p}, "done": False} for p in pieces]
    if calls:
        out.append({"model": model, "created_at": _now(), "done": False, "message": {
            "role": "assistant", "content": "", "tool_calls": _ollama_calls(calls)}})
    out.append(_ollama_final(model, usage, calls))
    return out


def _ollama_whole(model: str, answer: Answer, calls: list[ToolCall],
                  usage: tuple[int, int]) -> dict[str, Any]:
    whole = _ollama_final(model, usage, calls)
    whole["message"] = {"role": "assistant", "content": answer.text}
    if calls:
        whole["message"]["tool_calls"] = _ollama_calls(calls)
    return whole


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
