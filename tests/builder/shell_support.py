"""Shared pieces of the shell's tests (window, document, palette, inspector, problems, app).

`Answers` is a scripted `Prompts`: each question pops the next prepared answer and records that
it was asked, so a test can say "the unsaved-changes prompt came up once and we said discard".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings

from builder.dialogs import Prompts
from engine.model import Edge, Node, Workflow
from engine.nodetype import NodeType, Param, Port
from engine.registry import Registry
from nodes import default_registry

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


@dataclass
class Answers:
    unsaved: list[str] = field(default_factory=list)
    open_paths: list[str | None] = field(default_factory=list)
    save_paths: list[str | None] = field(default_factory=list)
    restore: list[bool] = field(default_factory=list)
    asked: list[tuple[str, Any]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)

    def prompts(self) -> Prompts:
        def unsaved(_parent, name):
            self.asked.append(("unsaved", name))
            return self.unsaved.pop(0) if self.unsaved else "discard"  # e.g. at teardown

        def open_path(_parent, start):
            self.asked.append(("open", start))
            return self.open_paths.pop(0)

        def save_path(_parent, suggestion):
            self.asked.append(("save", suggestion))
            return self.save_paths.pop(0)

        def error(_parent, title, message):
            self.errors.append((title, message))

        def restore(_parent, recoveries):
            self.asked.append(("restore", [r.display_name for r in recoveries]))
            return self.restore.pop(0)

        return Prompts(unsaved=unsaved, open_path=open_path, save_path=save_path, error=error,
                       restore=restore)

    def count(self, kind: str) -> int:
        return sum(1 for k, _ in self.asked if k == kind)


def temp_settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


class EveryKind(NodeType):
    """One parameter of every kind the inspector knows."""

    type_id = "test.everything"
    title = "Everything"
    category = "Tools"
    description = "A node with every kind of parameter."
    inputs = (Port("x", "any", required=False),)
    outputs = (Port("out", "any"),)
    parameters = (
        Param("label", "str", default="hi"),
        Param("count", "int", default=2, minimum=0),
        Param("ratio", "number", default=0.5),
        Param("enabled", "bool", default=True),
        Param("mode", "str", default="fast", choices=("fast", "slow")),
        Param("expr", "expression", default="x", required=True),
        Param("notes", "text", default=""),
        Param("script", "code", default="pass"),
        Param("items", "list", default=[]),
        Param("token", "str", default="", secret=True),
    )

    async def run(self, ctx, x=None):
        return {"out": x}


def make_registry() -> Registry:
    registry = default_registry()
    registry.register(EveryKind)
    return registry


def small_workflow() -> Workflow:
    return Workflow(name="Small", nodes=[
        Node("a", "data.value", "A value", {"value": 3}, (0, 0)),
        Node("b", "data.expression", "Double", {"expr": "x * 2"}, (240, 0)),
        Node("c", "flow.output", "Result", {"name": "result"}, (480, 0)),
    ], edges=[Edge("a", "out", "b", "x"), Edge("b", "out", "c", "in")])
