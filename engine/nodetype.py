"""The node-type API: a declarative spec (ports, parameters, purity) plus the code that runs.

A node type is a plain class. Its class attributes declare what the editor, the docs and the
compiler need to know; `run` does the work:

    class Greet(NodeType):
        type_id = "demo.greet"
        title = "Greet"
        inputs = (Port("name", "str"),)
        outputs = (Port("out", "str"),)
        parameters = (Param("greeting", "str", default="Hello"),)

        async def run(self, ctx, name):
            return {"out": f"{self.params['greeting']}, {name}!"}

`run` returns a dict keyed by output port; a declared output left out of it is *not taken*, and
the nodes behind it are skipped. `run` may be:
  * `async def` — awaited on the event loop;
  * a plain `def` — run in a worker thread, so blocking code never stalls the loop;
  * a plain `def` on a type with `cheap = True` — called inline on the loop (for microsecond work).
An instance is made once per workflow node, with its validated parameters in `self.params`;
override `setup()` to precompile what `run` will use many times.
"""

from __future__ import annotations

import functools
import inspect
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from engine.porttypes import PARAM_TYPES, PORT_TYPES, describe, matches

TYPE_ID_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
if TYPE_CHECKING:  # pragma: no cover - typing only
    from engine.permissions import Need

NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True, slots=True)
class Port:
    """An input or output of a node. `required` and `multi` only mean something on inputs."""

    name: str
    type: str = "any"
    required: bool = True
    multi: bool = False  # accepts many edges (their values arrive as a list)
    help: str = ""
    # A tools port does not carry data: each node wired into it becomes a tool this node may
    # call (run with arguments of its choosing); the node receives a list of ToolHandles.
    tools: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "required": self.required,
                "multi": self.multi, "help": self.help, "tools": self.tools}


@dataclass(frozen=True, slots=True)
class Param:
    """A parameter a person sets in the inspector (and the file stores under `params`)."""

    name: str
    type: str = "str"
    default: Any = None
    required: bool = False
    choices: tuple[Any, ...] = ()
    help: str = ""
    secret: bool = False  # holds the *name* of a credential, never the secret itself
    minimum: float | None = None

    def check(self, value: Any) -> str | None:
        """None if `value` is acceptable, else what is wrong with it."""
        if value is None:
            return "is required" if self.required else None
        if not matches(value, self.type):
            return f"must be {self.type}, got {describe(value)} {value!r:.60}"
        if self.choices and value not in self.choices:
            options = ", ".join(repr(c) for c in self.choices)
            return f"must be one of {options}, got {value!r:.60}"
        if self.minimum is not None and value < self.minimum:
            return f"must be at least {self.minimum:g}, got {value!r}"
        textual = self.type in ("str", "text", "expression", "code")
        if self.required and textual and not value.strip():
            return "is required"
        return None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "default": self.default,
                "required": self.required, "choices": list(self.choices), "help": self.help,
                "secret": self.secret, "minimum": self.minimum}


@dataclass(frozen=True, slots=True)
class NodeSpec:
    """Everything declarative about a node type, in plain values (for docs, forms, `--json`)."""

    type_id: str
    title: str
    category: str
    description: str
    inputs: tuple[Port, ...]
    outputs: tuple[Port, ...]
    parameters: tuple[Param, ...]
    pure: bool
    dynamic_ports: bool = False
    tags: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "type_id": self.type_id, "title": self.title, "category": self.category,
            "description": self.description, "pure": self.pure,
            "dynamic_ports": self.dynamic_ports,
            "inputs": [p.to_dict() for p in self.inputs],
            "outputs": [p.to_dict() for p in self.outputs],
            "parameters": [p.to_dict() for p in self.parameters],
        }


@functools.cache
def _run_mode(cls: type[NodeType]) -> str:
    if inspect.iscoroutinefunction(cls.run):
        return "async"
    return "inline" if cls.cheap else "thread"


class NodeType:
    """Base class of every node type. See the module docstring."""

    type_id: ClassVar[str] = ""
    title: ClassVar[str] = ""
    category: ClassVar[str] = "Other"
    description: ClassVar[str] = ""
    inputs: ClassVar[tuple[Port, ...]] = ()
    outputs: ClassVar[tuple[Port, ...]] = (Port("out"),)
    parameters: ClassVar[tuple[Param, ...]] = ()
    pure: ClassVar[bool] = False
    cheap: ClassVar[bool] = False
    # The engine gives some of its own types special scheduling; plugins leave this "normal".
    kind: ClassVar[str] = "normal"  # normal | merge | foreach | while | output
    # The parameter whose value is shown under the node's title on the canvas.
    summary_param: ClassVar[str | None] = None
    # Ids this type had before it was renamed: files that use one still load (as this type),
    # and are saved with `type_id`. Not inherited: a subclass is another type (own_legacy_ids).
    legacy_ids: ClassVar[tuple[str, ...]] = ()

    def __init__(self, params: dict[str, Any], node_id: str = "") -> None:
        self.params = params
        self.node_id = node_id
        self.setup()

    def setup(self) -> None:
        """Precompile what `run` needs; raise engine.errors.NodeFailure to reject the params."""

    @classmethod
    def input_ports(cls, params: dict[str, Any]) -> tuple[Port, ...]:
        """The inputs of a node with these (possibly invalid) params. Override for dynamic ports."""
        return cls.inputs

    @classmethod
    def output_ports(cls, params: dict[str, Any]) -> tuple[Port, ...]:
        return cls.outputs

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> list[str]:
        """Type-specific checks of params (with defaults filled); each problem one sentence."""
        return []

    @classmethod
    def needs(cls, params: dict[str, Any], base_dir: Path | None) -> list[Need] | None:
        """What a run with these params (defaults filled) needs: hosts it contacts, paths it
        reads or writes, code it runs (engine/permissions.py). None: the type does not say,
        which counts as running code unless it is one of Flowloom's own types."""
        return None

    def is_pure(self) -> bool:
        """Same inputs give the same outputs and nothing outside changes. Override per params."""
        return self.pure

    async def run(self, ctx: Any, **inputs: Any) -> dict[str, Any] | None:
        raise NotImplementedError(f"{self.type_id} does not implement run()")

    # --- introspection -------------------------------------------------------------------
    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return {p.name: p.default for p in cls.parameters}

    @classmethod
    def with_defaults(cls, params: dict[str, Any]) -> dict[str, Any]:
        merged = cls.defaults()
        merged.update(params)
        return merged

    @classmethod
    def summary(cls, params: dict[str, Any]) -> str:
        if cls.summary_param is None:
            return ""
        value = params.get(cls.summary_param)
        return "" if value is None else str(value)

    @classmethod
    def spec(cls) -> NodeSpec:
        dynamic = (cls.input_ports.__func__ is not NodeType.input_ports.__func__
                   or cls.output_ports.__func__ is not NodeType.output_ports.__func__)
        return NodeSpec(
            type_id=cls.type_id, title=cls.title or cls.type_id, category=cls.category,
            description=cls.description, inputs=tuple(cls.input_ports(cls.defaults())),
            outputs=tuple(cls.output_ports(cls.defaults())), parameters=tuple(cls.parameters),
            pure=cls.pure, dynamic_ports=dynamic,
        )

    @classmethod
    def own_legacy_ids(cls) -> tuple[str, ...]:
        """The former ids this class itself declares (a subclass does not inherit them)."""
        return tuple(vars(cls).get("legacy_ids", ()))

    @classmethod
    def run_mode(cls) -> str:
        """"async", "thread" or "inline" — how the executor calls `run`."""
        return _run_mode(cls)

    @classmethod
    def check_declaration(cls) -> list[str]:
        """Problems with the class's own declaration (the registry refuses such a type)."""
        problems = []
        if not TYPE_ID_RE.match(cls.type_id or ""):
            problems.append(f"type id {cls.type_id!r} is not of the form 'category.name'")
        declared = vars(cls).get("legacy_ids", ())
        if isinstance(declared, str) or not isinstance(declared, (tuple, list)):
            problems.append(f"legacy_ids must be a tuple of type ids, got {declared!r:.60}")
        else:
            for old in declared:
                if not isinstance(old, str) or not TYPE_ID_RE.match(old):
                    problems.append(f"legacy id {old!r:.60} is not of the form 'category.name'")
                elif old == cls.type_id:
                    problems.append(f"legacy id {old!r} is the type's own id")
        for group, ports in (("input", cls.inputs), ("output", cls.outputs)):
            names = [p.name for p in ports]
            if len(set(names)) != len(names):
                problems.append(f"{group} port names repeat: {names}")
            for p in ports:
                if p.type not in PORT_TYPES:
                    problems.append(f"{group} port {p.name!r} has unknown type {p.type!r}")
        pnames = [p.name for p in cls.parameters]
        if len(set(pnames)) != len(pnames):
            problems.append(f"parameter names repeat: {pnames}")
        for p in cls.parameters:
            if p.type not in PARAM_TYPES:
                problems.append(f"parameter {p.name!r} has unknown type {p.type!r}")
        if cls.run is NodeType.run and cls.kind == "normal":
            problems.append("it does not implement run()")
        return problems
