"""The agent node (`ai.agent`): a chat model that calls the tools wired into its `tools` port.

The loop: send the conversation and the tools' schemas (OpenAI `tools` + `tool_choice: auto`;
Ollama's `tools` field); if the model asks for tools, run every requested call — together, in
one TaskGroup, when it asks for several — and send each result back as a `tool` message (the
JSON of the tool's outputs, or `Error: ...` when the tool failed, does not exist, or got
arguments that do not fit its schema); repeat until an answer without tool calls, or fail after
`max_steps` requests with the transcript so far in the log and the error.

Requests, streaming, credentials and server errors are the chat node's (nodes/llm.py): `Agent`
is a `Chat` with its own parameters and `run`. Each step is logged (thought text, tool calls
with their arguments, results) and reported as progress; tool nodes light up on the canvas
through their own engine events (engine/tools.py).

Short-term memory: `history_budget` caps the messages sent per request. The oldest turns are
dropped (an assistant message together with its tool results); the system prompt, the latest
user message and the latest turn are always kept. Long-term memory: with a `memory_key`,
`recall` > 0 adds the best-matching memories to the system prompt before the first request, and
`remember` saves the question and the final answer afterwards (nodes/memory.py).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from engine.context import REDACTED
from engine.errors import NodeFailure
from engine.masking import clip
from engine.nodetype import Param, Port
from engine.permissions import Need
from engine.slots import host_slot
from engine.tools import ToolCallError, ToolHandle
from nodes.llm import Chat, build_messages
from nodes.llm_failover import ServerUnavailable, Target, ask_in_turn
from nodes.llm_stream import ChatAnswer
from nodes.memory import (
    RecallSettings,
    embedding_needs,
    recall_memories,
    save_memory,
    settings_params,
)

CHAT_PARAMS = {p.name: p for p in Chat.parameters}
SHOWN_CHARS = 400  # how much of a result or argument list a log line carries


def trim_history(messages: list[dict[str, Any]], budget: int) -> tuple[list[dict[str, Any]], int]:
    """At most `budget` messages (0: no limit), dropping the oldest turns; see the module
    docstring for what is always kept. Returns the messages and how many were dropped."""
    if budget <= 0 or len(messages) <= budget:
        return messages, 0
    head = 0
    while head < len(messages) and messages[head].get("role") == "system":
        head += 1
    units: list[list[dict[str, Any]]] = []  # a message and the tool results that follow it
    for message in messages[head:]:
        if message.get("role") == "tool" and units:
            units[-1].append(message)
        else:
            units.append([message])
    users = [i for i, u in enumerate(units) if u[0].get("role") == "user"]
    keep = {len(units) - 1} | ({users[-1]} if users else set())
    total = len(messages)
    dropped: set[int] = set()
    for i, unit in enumerate(units):
        if total <= budget:
            break
        if i not in keep:
            dropped.add(i)
            total -= len(unit)
    kept = messages[:head] + [m for i, u in enumerate(units) if i not in dropped for m in u]
    return kept, len(messages) - len(kept)


def wire_messages(messages: list[dict[str, Any]], provider: str) -> list[dict[str, Any]]:
    """The transcript's messages in the provider's own shape."""
    out = []
    for m in messages:
        if m.get("role") == "assistant" and m.get("tool_calls"):
            if provider == "openai":
                calls = [{"id": c["id"], "type": "function", "function": {
                    "name": c["name"], "arguments": c["arguments"] if isinstance(
                        c["arguments"], str) else json.dumps(c["arguments"])}}
                    for c in m["tool_calls"]]
                out.append({"role": "assistant", "content": m.get("content") or None,
                            "tool_calls": calls})
            else:
                calls = [{"function": {"name": c["name"], "arguments": c["arguments"]}}
                         for c in m["tool_calls"]]
                out.append({"role": "assistant", "content": m.get("content") or "",
                            "tool_calls": calls})
        elif m.get("role") == "tool" and "name" in m:
            if provider == "openai":
                out.append({"role": "tool", "tool_call_id": m["tool_call_id"],
                            "content": m["content"]})
            else:
                out.append({"role": "tool", "tool_name": m["name"], "content": m["content"]})
        else:
            out.append(m)
    return out


def _short(value: Any, redact: Callable[[str], str] = lambda text: text) -> str:
    """`value` as text, cut to SHOWN_CHARS after `redact` masked it (mask first, then cut)."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return redact(text) if len(text) <= SHOWN_CHARS else clip(text, SHOWN_CHARS, redact) + "…"


class Agent(Chat):
    type_id = "ai.agent"
    title = "AI agent"
    category = "AI"
    description = ("A chat model that reasons in steps and calls the tools wired into `tools` "
                   "until it can answer; optional long-term memory.")
    inputs = (Port("prompt", "str", required=False, help="the task (or use messages)"),
              Port("messages", "list", required=False,
                   help='[{"role": "user", "content": "..."}, ...] (or use prompt)'),
              Port("tools", required=False, multi=True, tools=True,
                   help="wire nodes here: each becomes a tool the model may call"))
    outputs = (Port("text", "str", help="the final answer"),
               Port("transcript", "list", help="every message and tool call, in order"))
    parameters = (
        *(CHAT_PARAMS[n] for n in ("provider", "base_url", "model", "system", "temperature",
                                   "max_tokens", "api_key_secret", "timeout_s", "fallbacks")),
        Param("max_steps", "int", default=8, required=True, minimum=1,
              help="most model requests in one run; the node fails if there is still no "
                   "final answer"),
        Param("history_budget", "int", default=40, minimum=0,
              help="short-term memory: most messages per request (oldest turns dropped; "
                   "system prompt and latest user message kept); 0: no limit"),
        Param("memory_key", "str", default="",
              help="long-term memory key for recall and remember; empty: no long-term memory"),
        Param("recall", "int", default=0, minimum=0,
              help="add this many best-matching memories to the system prompt before the "
                   "run; 0: off"),
        Param("remember", "bool", default=False,
              help="save the question and the final answer under the memory key"),
        *settings_params("memory_"),
    )

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> list[str]:
        problems = super().check_params(params)
        if (params["recall"] or params["remember"]) and not str(params["memory_key"]).strip():
            problems.append("recall and remember need a memory_key")
        return problems

    @classmethod
    def needs(cls, params: dict[str, Any], base_dir: Any) -> list[Need]:
        """The chat server, and the embeddings server when long-term memory uses vectors."""
        memory = str(params["memory_key"]).strip() and (params["recall"] or params["remember"])
        return super().needs(params, base_dir) + (
            embedding_needs(params, "memory_mode") if memory else [])

    async def run(self, ctx: Any, prompt: str | None = None, messages: list | None = None,
                  tools: list[ToolHandle] | None = None) -> dict[str, Any]:
        servers = self._servers(ctx, prompt, messages)
        p = self.params
        conversation = build_messages(p["system"], prompt, messages)
        question = prompt if prompt is not None else _last_user_text(conversation)
        memory = RecallSettings.from_params(p, "memory_mode") if p["memory_key"] else None
        if memory is not None and p["recall"]:
            conversation = await self._recall(ctx, memory, question, conversation)
        handles = {t.name: t for t in tools or []}
        text, transcript = await self._loop(ctx, servers, conversation, handles)
        if memory is not None and p["remember"]:
            entry = await save_memory(ctx, memory, f"Question: {question}\nAnswer: {text}",
                                      {"run_id": ctx.run_id, "node": ctx.node_id})
            ctx.log("info", f"remembered this answer as memory #{entry} of {memory.key!r}")
        return {"text": text, "transcript": transcript}

    async def _recall(self, ctx: Any, memory: RecallSettings, question: str,
                      conversation: list[dict[str, Any]]) -> list[dict[str, Any]]:
        found = await recall_memories(ctx, memory, question, int(self.params["recall"]))
        ctx.log("info", f"recalled {len(found)} memories of {memory.key!r}"
                        + "".join(f"\n- {_short(m.text, ctx.redact)}" for m in found))
        if not found:
            return conversation
        note = ("Things you remember from earlier conversations (most relevant first):\n"
                + "\n".join(f"- {m.text}" for m in found))
        if conversation and conversation[0]["role"] == "system":
            first = dict(conversation[0], content=f"{conversation[0]['content']}\n\n{note}")
            return [first, *conversation[1:]]
        return [{"role": "system", "content": note}, *conversation]

    async def _loop(self, ctx: Any, servers: list[Target],
                    conversation: list[dict[str, Any]],
                    handles: dict[str, ToolHandle]) -> tuple[str, list[dict[str, Any]]]:
        p = self.params
        max_steps = int(p["max_steps"])
        schemas = [h.schema() for h in handles.values()]
        current = 0  # the server that answered last
        for step in range(1, max_steps + 1):
            sent, dropped = trim_history(conversation, int(p["history_budget"] or 0))
            if dropped:
                ctx.log("info", f"step {step}: short-term memory dropped the {dropped} oldest "
                                f"messages (history_budget {p['history_budget']})")
            ctx.progress((step - 1) / max_steps, f"step {step}/{max_steps}: asking {p['model']}…")

            async def ask(server: Target, sent: list[dict[str, Any]] = sent) -> ChatAnswer:
                body = self._agent_body(wire_messages(sent, server.provider), schemas, server)
                async with host_slot(ctx, server.base):  # the app-wide limit on it, if any
                    answer, _, _ = await self._converse(ctx, server, body)
                if not answer.text.strip() and not answer.tool_calls:
                    raise ServerUnavailable(f"the {server.where} gave an empty answer")
                return answer

            try:
                # a server that failed once is not asked again in this run of the node
                answer, current = await ask_in_turn(ctx, servers, current, ask)
            except NodeFailure as exc:
                message = str(exc)
                for key in {s.key for s in servers if s.key}:
                    message = message.replace(key, REDACTED)
                raise NodeFailure(f"step {step}: {message}") from None
            if answer.text:
                ctx.log("info", f"step {step}: model: {answer.text}")
            if not answer.tool_calls:
                conversation.append({"role": "assistant", "content": answer.text})
                ctx.progress(1.0, f"answered after {step} step(s)")
                return answer.text, conversation
            calls = [dict(c, id=c.get("id") or f"call_{step}_{i}")
                     for i, c in enumerate(answer.tool_calls)]
            conversation.append({"role": "assistant", "content": answer.text,
                                 "tool_calls": calls})
            for c in calls:
                shown = _short(c["arguments"], ctx.redact)
                ctx.log("info", f"step {step}: calls {c['name']}({shown})")
            ctx.progress(step / max_steps, f"step {step}/{max_steps}: calling "
                                           + ", ".join(c["name"] for c in calls))
            async with ctx.lent_slot():  # the tools take slots under the cap; this waits
                results = await self._call_tools(handles, calls)
            for c, (content, ok) in zip(calls, results, strict=True):
                ctx.log("info" if ok else "warning",
                        f"step {step}: {c['name']} → {_short(content, ctx.redact)}")
                conversation.append({"role": "tool", "tool_call_id": c["id"], "name": c["name"],
                                     "content": content, "ok": ok})
        dump = json.dumps(conversation, default=str, ensure_ascii=False)
        ctx.log("error", f"transcript so far: {dump}")
        raise NodeFailure(f"no final answer after max_steps={max_steps} model requests (the "
                          f"model kept calling tools); transcript so far: "
                          f"{_short(dump, ctx.redact)}")

    def _agent_body(self, messages: list[dict[str, Any]], schemas: list[dict[str, Any]],
                    server: Target) -> dict[str, Any]:
        p = self.params
        body: dict[str, Any] = {"model": server.model, "messages": messages, "stream": True}
        if server.provider == "openai":
            body["stream_options"] = {"include_usage": True}
            if schemas:
                body["tools"] = schemas
                body["tool_choice"] = "auto"
            if p["temperature"] is not None:
                body["temperature"] = p["temperature"]
            if p["max_tokens"] is not None:
                body["max_tokens"] = p["max_tokens"]
        else:
            if schemas:
                body["tools"] = schemas
            options = {}
            if p["temperature"] is not None:
                options["temperature"] = p["temperature"]
            if p["max_tokens"] is not None:
                options["num_predict"] = p["max_tokens"]
            if options:
                body["options"] = options
        return body

    async def _call_tools(self, handles: dict[str, ToolHandle],
                          calls: list[dict[str, Any]]) -> list[tuple[str, bool]]:
        """Every call at once; each result is (content for the model, succeeded)."""
        if len(calls) == 1:
            return [await self._call_tool(handles, calls[0])]
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(self._call_tool(handles, c)) for c in calls]
        return [t.result() for t in tasks]

    async def _call_tool(self, handles: dict[str, ToolHandle],
                         call: dict[str, Any]) -> tuple[str, bool]:
        name, arguments = call["name"], call["arguments"]
        handle = handles.get(name)
        if handle is None:
            known = ", ".join(handles) or "none"
            return f"Error: there is no tool named {name!r}; the tools are: {known}", False
        if isinstance(arguments, str):
            return (f"Error: the arguments for {name} are not a JSON object: "
                    f"{_short(arguments)!r}", False)
        try:
            outputs = await handle.call(arguments)
        except ToolCallError as exc:
            return f"Error: {exc}", False
        return json.dumps(outputs, default=str, ensure_ascii=False), True


def _last_user_text(conversation: list[dict[str, Any]]) -> str:
    for message in reversed(conversation):
        if message.get("role") == "user":
            return str(message.get("content") or "")
    return ""


TYPES = (Agent,)
