"""Parsers for streamed chat answers: OpenAI-style SSE and Ollama NDJSON, plus whole answers.

A parser is fed the body line by line (`feed(line)` returns the new text, if any) and `finish()`
gives a `ChatAnswer`, raising `StreamProblem` if the stream ended before the answer did. Tool
calls are collected too (OpenAI streams their arguments in fragments; Ollama sends whole ones),
so an agent node can reuse these parsers. No I/O here: the node owns the connection.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engine.masking import clip

SAMPLE_CHARS = 80  # how much of an offending chunk an error shows


class StreamProblem(Exception):
    """The server's answer is malformed, reports an error, or ended too early.

    `sample` is the offending text, whole: `describe(redact)` masks it *before* cutting it to
    SAMPLE_CHARS, so a key the server echoed cannot leave a piece behind. `str()` cuts it
    unmasked, for code that has no secrets to mask."""

    def __init__(self, message: str, sample: str | None = None) -> None:
        super().__init__(message)
        self.message, self.sample = message, sample

    def describe(self, redact: Callable[[str], str]) -> str:
        if self.sample is None:
            return redact(self.message)
        return f"{redact(self.message)}: {clip(self.sample, SAMPLE_CHARS, redact)!r}"

    def __str__(self) -> str:
        return self.describe(lambda text: text)


@dataclass
class ChatAnswer:
    """An LLM reply gathered from its stream: text, tool calls and token counts."""

    text: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # {"id", "name", "arguments"}
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str | None = None


def error_message(data: Any) -> str | None:
    """The message inside an error object as OpenAI (`{"error": {"message"}}`) or Ollama
    (`{"error": "..."}`) send it, else None."""
    if not isinstance(data, dict) or "error" not in data:
        return None
    inner = data["error"]
    if isinstance(inner, dict):
        return str(inner.get("message") or inner.get("code") or inner)
    return str(inner)


def _load(payload: str, count: int) -> Any:
    try:
        return json.loads(payload)
    except ValueError:
        raise StreamProblem(f"chunk {count} is not JSON", sample=payload) from None


def _arguments(raw: Any) -> Any:
    """Tool-call arguments as a dict when they parse; the raw string otherwise."""
    if isinstance(raw, str):
        try:
            return json.loads(raw) if raw.strip() else {}
        except ValueError:
            return raw
    return raw


class OpenAIStream:
    """Server-sent events of `chat.completion.chunk` objects, ended by `data: [DONE]`."""

    def __init__(self) -> None:
        self.answer = ChatAnswer()
        self.done = False
        self.chunks = 0
        self._data: list[str] = []
        self._parts: list[str] = []
        self._calls: dict[int, dict[str, Any]] = {}

    def feed(self, line: str) -> str:
        line = line.rstrip("\r")
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return ""  # an SSE comment (keep-alive)
        name, _, value = line.partition(":")
        if name == "data":
            self._data.append(value[1:] if value.startswith(" ") else value)
        return ""

    def _dispatch(self) -> str:
        if not self._data:
            return ""
        payload = "\n".join(self._data)
        self._data = []
        if payload.strip() == "[DONE]":
            self.done = True
            return ""
        self.chunks += 1
        data = _load(payload, self.chunks)
        message = error_message(data)
        if message is not None:
            raise StreamProblem(f"the server reported an error mid-stream: {message}")
        if not isinstance(data, dict):
            raise StreamProblem(f"chunk {self.chunks} is not an object", sample=payload)
        usage = data.get("usage")
        if isinstance(usage, dict):
            self.answer.prompt_tokens = usage.get("prompt_tokens")
            self.answer.completion_tokens = usage.get("completion_tokens")
        new = ""
        for choice in data.get("choices") or []:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            content = delta.get("content")
            if isinstance(content, str):
                new += content
            for call in delta.get("tool_calls") or []:
                self._add_call_fragment(call)
            if choice.get("finish_reason"):
                self.answer.finish_reason = choice["finish_reason"]
        if new:
            self._parts.append(new)
        return new

    def _add_call_fragment(self, fragment: dict[str, Any]) -> None:
        slot = self._calls.setdefault(int(fragment.get("index", len(self._calls))),
                                      {"id": "", "name": "", "arguments": ""})
        if fragment.get("id"):
            slot["id"] = fragment["id"]
        function = fragment.get("function") or {}
        if function.get("name"):
            slot["name"] += function["name"]
        if function.get("arguments"):
            slot["arguments"] += function["arguments"]

    def finish(self) -> ChatAnswer:
        self._dispatch()  # a last event without its blank line
        if not self.done and self.answer.finish_reason is None:
            raise StreamProblem(f"the stream ended before the answer was complete (no "
                                f"finish_reason or [DONE] after {self.chunks} chunks)")
        self.answer.text = "".join(self._parts)
        self.answer.tool_calls = [dict(c, arguments=_arguments(c["arguments"]))
                                  for _, c in sorted(self._calls.items())]
        return self.answer


class OllamaStream:
    """Newline-delimited JSON objects of Ollama's `/api/chat`, the last with `"done": true`."""

    def __init__(self) -> None:
        self.answer = ChatAnswer()
        self.done = False
        self.chunks = 0
        self._parts: list[str] = []

    def feed(self, line: str) -> str:
        line = line.strip()
        if not line:
            return ""
        self.chunks += 1
        data = _load(line, self.chunks)
        message = error_message(data)
        if message is not None:
            raise StreamProblem(f"the server reported an error mid-stream: {message}")
        if not isinstance(data, dict):
            raise StreamProblem(f"chunk {self.chunks} is not an object", sample=line)
        if self.done:
            raise StreamProblem(f"chunk {self.chunks} came after the final one")
        msg = data.get("message") or {}
        new = msg.get("content") or ""
        if not isinstance(new, str):
            raise StreamProblem(f"chunk {self.chunks} has non-text content")
        for call in msg.get("tool_calls") or []:
            function = call.get("function") or {}
            self.answer.tool_calls.append({
                "id": call.get("id") or f"call_{len(self.answer.tool_calls)}",
                "name": function.get("name", ""),
                "arguments": _arguments(function.get("arguments", {}))})
        if data.get("done"):
            self.done = True
            self.answer.finish_reason = data.get("done_reason") or "stop"
            self.answer.prompt_tokens = data.get("prompt_eval_count")
            self.answer.completion_tokens = data.get("eval_count")
        if new:
            self._parts.append(new)
        return new

    def finish(self) -> ChatAnswer:
        if not self.done:
            raise StreamProblem(f"the stream ended before the answer was complete (no "
                                f'"done": true after {self.chunks} chunks)')
        self.answer.text = "".join(self._parts)
        return self.answer


def parse_openai_whole(data: Any) -> ChatAnswer:
    """A non-streamed `chat.completion` object (servers that ignore `stream: true`)."""
    message = error_message(data)
    if message is not None:
        raise StreamProblem(f"the server reported an error: {message}")
    try:
        choice = data["choices"][0]
        msg = choice["message"]
    except (KeyError, IndexError, TypeError):
        raise StreamProblem("the answer has no choices[0].message", sample=str(data)) from None
    usage = data.get("usage") or {}
    calls = [{"id": c.get("id", ""), "name": (c.get("function") or {}).get("name", ""),
              "arguments": _arguments((c.get("function") or {}).get("arguments", ""))}
             for c in msg.get("tool_calls") or []]
    return ChatAnswer(text=msg.get("content") or "", tool_calls=calls,
                      prompt_tokens=usage.get("prompt_tokens"),
                      completion_tokens=usage.get("completion_tokens"),
                      finish_reason=choice.get("finish_reason"))
