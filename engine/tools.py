"""Tools: nodes that an agent node calls with arguments of its choosing.

A node wired into a `tools` port (Port(tools=True)) is not scheduled. The node that owns the
port receives one `ToolHandle` per wired node, in edge order. A handle describes its tool to a
model — name = the node id; description = its title and its type's description; parameters = a
JSON schema built from its input ports — and runs it on request after checking the arguments.
Every call is a run of the tool node: NodeStarted / NodeFinished / NodeFailed under the tool's
own id (iteration = the caller's loop path plus the call number), so the canvas lights it up,
and the result is the node's outputs. A call runs through the same path as a scheduled node
(engine/attempts.py, recorded in engine/ledger.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.attempts import attempt_node, outputs_problem
from engine.errors import FlowloomError
from engine.porttypes import describe, matches

if TYPE_CHECKING:  # pragma: no cover - typing only
    from engine.compile import PlanNode
    from engine.run import Run

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
        """Run the tool with `arguments`; its outputs, or ToolCallError with what went wrong.
        The call runs like a scheduled node (engine/attempts.py: hooks, admission, timeout,
        the seam, the ledger), without retries: the model decides whether to call again."""
        problem = self.check_arguments(arguments)
        if problem is not None:
            raise ToolCallError(problem)
        run, node = self._run, self._node
        ledger = run.ledger
        path = self._path + (ledger.next_call(node.id),)
        if node.pool is not None and run.admission.would_deadlock(node.pool):
            t0 = ledger.started(node.id, path, 1)
            message = ledger.failed(
                node.id, path, f"tool {node.id!r} is in pool {node.pool!r}, whose every slot "
                f"its caller holds while it waits for the tool: it could never start (give "
                f"the tool another pool or none, or make the pool larger)", t0, 1)
            raise ToolCallError(f"{self.name} failed: {message}")
        outcome = await attempt_node(run, node, path, dict(arguments))
        message = outcome.message
        if outcome.ok:
            message = outputs_problem(node, outcome.outputs) or ""
        if message:
            message = ledger.failed(node.id, path, message, outcome.t0, outcome.attempts,
                                    queued=outcome.queued, earlier=outcome.earlier)
            raise ToolCallError(f"{self.name} failed: {message}")
        ledger.succeeded(node.id, path, outcome.outputs, outcome.t0, queued=outcome.queued)
        return outcome.outputs

    def __repr__(self) -> str:
        return f"ToolHandle({self.name!r})"
