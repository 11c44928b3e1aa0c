"""Tools: nodes that an agent node calls with arguments of its choosing.

A node wired into a `tools` port (Port(tools=True)) is not scheduled. The node that owns the
port receives one `ToolHandle` per wired node, in edge order. A handle describes its tool to a
model — name = the node id; description = its title and its type's description; parameters = a
JSON schema built from its input ports — and runs it on request after checking the arguments.
Every call is a run of the tool node: NodeStarted / NodeFinished / NodeFailed under the tool's
own id (iteration = the caller's loop path plus the call number), so the canvas lights it up,
and the result is the node's outputs.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from engine import events as ev
from engine.context import NodeContext
from engine.errors import FlowloomError
from engine.porttypes import describe, matches
from engine.runstate import CANCELLED, RUNNING

if TYPE_CHECKING:  # pragma: no cover - typing only
    from engine.compile import PlanNode
    from engine.executor import Run

JSON_TYPES = {"str": "string", "number": "number", "bool": "boolean", "list": "array",
              "dict": "object", "bytes": "string"}


class ToolCallError(FlowloomError):
    """A tool call was malformed or the tool failed; the message is meant for the model."""


class ToolHandle:
    __slots__ = ("_run", "_node", "_path", "name", "description", "ports")

    def __init__(self, run: Run, node: PlanNode, path: tuple[int, ...]) -> None:
        self._run = run
        self._node = node
        self._path = path
        node_type = type(node.impl)
        title = run.compiled.workflow.nodes[node.id].title or node_type.title
        self.name = node.id
        self.description = ". ".join(t for t in (title, node_type.description) if t)
        self.ports = {p.name: p for p in node_type.input_ports(node.impl.params)}

    @property
    def parameters(self) -> dict[str, Any]:
        """The JSON schema of the arguments: one property per input port."""
        properties: dict[str, Any] = {}
        for port in self.ports.values():
            prop: dict[str, Any] = {}
            if port.type in JSON_TYPES:
                prop["type"] = JSON_TYPES[port.type]
            if port.help:
                prop["description"] = port.help
            properties[port.name] = prop
        return {"type": "object", "properties": properties,
                "required": [p.name for p in self.ports.values() if p.required],
                "additionalProperties": False}

    def schema(self) -> dict[str, Any]:
        """The tool in the OpenAI function-calling shape (Ollama takes the same)."""
        return {"type": "function", "function": {"name": self.name,
                                                 "description": self.description,
                                                 "parameters": self.parameters}}

    def check_arguments(self, arguments: Any) -> str | None:
        """None if the model's arguments fit the schema, else a sentence saying why not."""
        if not isinstance(arguments, dict):
            return f"arguments for {self.name} must be a JSON object, got {describe(arguments)}"
        unknown = sorted(set(arguments) - set(self.ports))
        if unknown:
            return (f"{self.name} has no argument {', '.join(map(repr, unknown))}; its "
                    f"arguments are: {', '.join(self.ports) or 'none'}")
        for port in self.ports.values():
            if port.name not in arguments:
                if port.required:
                    return f"{self.name} needs the argument {port.name!r}"
                continue
            if not matches(arguments[port.name], port.type):
                return (f"argument {port.name!r} of {self.name} must be {port.type}, got "
                        f"{describe(arguments[port.name])}")
        return None

    async def call(self, arguments: Any) -> dict[str, Any]:
        """Run the tool with `arguments`; its outputs, or ToolCallError with what went wrong."""
        problem = self.check_arguments(arguments)
        if problem is not None:
            raise ToolCallError(problem)
        run, node = self._run, self._node
        index = run.tool_calls.get(node.id, 0)
        run.tool_calls[node.id] = index + 1
        path = self._path + (index,)
        nr = run.state[node.id]
        t0 = time.monotonic()
        nr.status = RUNNING
        nr.attempts += 1
        if nr.started_t is None:
            nr.started_t = t0
        if run.listening:
            run.emit(ev.NodeStarted(node.id, path, 1, t0))
        ctx = NodeContext(run, node.id, path, 1)
        queued = 0.0
        try:
            async with run.admission(node.pool, node.priority):
                queued = time.monotonic() - t0  # running time starts with the slot
                if nr.started_t == t0:  # its first start: once let in
                    nr.started_t = t0 + queued
                t0 += queued
                async with asyncio.timeout(node.timeout_s):
                    outputs = await self._invoke(ctx, dict(arguments))
            if outputs is None:
                outputs = {}
            if not isinstance(outputs, dict) or not set(outputs) <= set(node.out_ports):
                raise FlowloomError(f"run() must return a dict of its outputs "
                                    f"{list(node.out_ports)}")
        except asyncio.CancelledError:
            nr.status = CANCELLED
            if run.listening:
                run.emit(ev.NodeCancelled(node.id, path, time.monotonic()))
            raise
        except Exception as exc:
            message = run.redact(_describe_error(exc, node.timeout_s))
            t = time.monotonic()
            nr.failures += 1
            nr.runs += 1
            nr.settle()
            nr.error = message
            nr.duration_s += t - t0
            nr.queued_s += queued
            nr.attempt_durations_s = (t - t0,)
            nr.ended_t = t
            if run.listening:
                run.emit(ev.NodeFailed(node.id, path, t - t0, message, 1, t, queued, (t - t0,)))
            raise ToolCallError(f"{self.name} failed: {message}") from None
        t = time.monotonic()
        nr.successes += 1
        nr.runs += 1
        nr.settle()
        nr.duration_s += t - t0
        nr.queued_s += queued
        nr.attempt_durations_s = (t - t0,)
        nr.ended_t = t
        nr.inputs = run.recorded(dict(arguments))
        nr.outputs = run.recorded(outputs)
        if run.listening:
            run.emit(ev.NodeFinished(node.id, path, t - t0, nr.outputs, t, False, queued,
                                     (t - t0,)))
        return outputs

    async def _invoke(self, ctx: NodeContext, args: dict[str, Any]) -> Any:
        node = self._node
        ctx.check_start(node.impl)
        if node.mode == "async":
            return await node.impl.run(ctx, **args)
        if node.mode == "thread":
            return await asyncio.to_thread(node.impl.run, ctx, **args)
        return node.impl.run(ctx, **args)

    def __repr__(self) -> str:
        return f"ToolHandle({self.name!r})"


def _describe_error(exc: BaseException, timeout_s: float | None) -> str:
    if isinstance(exc, TimeoutError) and timeout_s is not None:
        return f"timed out after {timeout_s:g} s"
    if isinstance(exc, FlowloomError):
        return str(exc)
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
