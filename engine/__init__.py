"""Flowloom's engine: workflow model and files, compile to nested networkx DAGs, async executor.

It imports no Qt: a person can load, check and run workflows from plain Python.

    from engine import compile_workflow, core_registry, load, Run
    registry = core_registry()
    loaded = load("hello.loom.json", registry)
    result = asyncio.run(Run(compile_workflow(loaded.workflow, registry)).execute())

The names below are imported on first use (PEP 562), so `import engine.model` (the editor's
first frame, `flowloom nodes`) does not pay for networkx, the executor and its services.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_HOMES = {
    "Compiled": "compile", "compile_workflow": "compile",
    "ApprovalRequest": "context", "Decision": "context", "NodeContext": "context",
    "Services": "context",
    "core_registry": "corenodes", "register_core": "corenodes",
    "CompileError": "errors", "ExpressionError": "errors", "FlowloomError": "errors",
    "InputError": "errors", "NodeFailure": "errors", "Problem": "errors",
    "RegistryError": "errors", "WorkflowFileError": "errors",
    "Run": "executor", "run_workflow": "executor",
    "dumps": "fileformat", "load": "fileformat", "loads": "fileformat", "save": "fileformat",
    "Edge": "model", "Node": "model", "Workflow": "model",
    "NodeSpec": "nodetype", "NodeType": "nodetype", "Param": "nodetype", "Port": "nodetype",
    "Registry": "registry",
    "NodeRun": "runstate", "RunResult": "runstate",
}

__all__ = [
    "ApprovalRequest", "CompileError", "Compiled", "Decision", "Edge", "ExpressionError",
    "FlowloomError", "InputError", "Node", "NodeContext", "NodeFailure", "NodeRun", "NodeSpec",
    "NodeType", "Param", "Port", "Problem", "Registry", "RegistryError", "Run", "RunResult",
    "Services", "Workflow", "WorkflowFileError", "compile_workflow", "core_registry", "dumps",
    "load", "loads", "register_core", "run_workflow", "save",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"engine.{home}"), name)
    globals()[name] = value  # the next lookup is a plain module attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOMES))


if TYPE_CHECKING:  # pragma: no cover - for type checkers and readers
    from engine.compile import Compiled, compile_workflow
    from engine.context import ApprovalRequest, Decision, NodeContext, Services
    from engine.corenodes import core_registry, register_core
    from engine.errors import (
        CompileError,
        ExpressionError,
        FlowloomError,
        InputError,
        NodeFailure,
        Problem,
        RegistryError,
        WorkflowFileError,
    )
    from engine.executor import Run, run_workflow
    from engine.fileformat import dumps, load, loads, save
    from engine.model import Edge, Node, Workflow
    from engine.nodetype import NodeSpec, NodeType, Param, Port
    from engine.registry import Registry
    from engine.runstate import NodeRun, RunResult
