"""Typed errors and the `Problem` record that loading and compiling report.

Every message names the node (and edge) it is about, so a person can find and fix it.
"""

from __future__ import annotations

from dataclasses import dataclass


class FlowloomError(Exception):
    """Base class of every error the engine raises on purpose."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong (or suspicious) with a workflow, found before it runs."""

    message: str
    node_id: str | None = None
    edge: tuple[str, str, str, str] | None = None  # (source, source_port, target, target_port)
    severity: str = "error"  # "error" | "warning"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def __str__(self) -> str:
        if self.edge is not None:
            s, sp, t, tp = self.edge
            where = f"edge {s}.{sp} -> {t}.{tp}"
        elif self.node_id is not None:
            where = f"node '{self.node_id}'"
        else:
            where = "workflow"
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{prefix}{where}: {self.message}"


class WorkflowFileError(FlowloomError):
    """The file cannot be read as a workflow at all (not JSON, wrong shape, newer version)."""


class CompileError(FlowloomError):
    """The workflow has problems that stop it from running."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        errors = [p for p in self.problems if p.is_error]
        head = f"{len(errors)} problem{'s' if len(errors) != 1 else ''} in the workflow"
        super().__init__(head + ":\n" + "\n".join(f"  {p}" for p in errors))


class RegistryError(FlowloomError):
    """A node type is unknown, or a second type claims an id already taken."""


class ExpressionError(FlowloomError):
    """An expression does not parse, or fails when evaluated; the message quotes it."""


class NodeFailure(FlowloomError):
    """Raised by node code to fail its node with a clean message (no traceback shown)."""


class InputError(FlowloomError):
    """Run inputs do not match what the workflow's start node declares."""
