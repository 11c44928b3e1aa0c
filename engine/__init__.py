"""Flowloom's engine: workflow model and files, compile to nested networkx DAGs, async executor.

It imports no Qt: a person can load, check and run workflows from plain Python.

    from engine import compile_workflow, core_registry, load, Run
    registry = core_registry()
    loaded = load("hello.loom.json", registry)
    result = asyncio.run(Run(compile_workflow(loaded.workflow, registry)).execute())
"""

from __future__ import annotations

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

__all__ = [
    "ApprovalRequest", "CompileError", "Compiled", "Decision", "Edge", "ExpressionError",
    "FlowloomError", "InputError", "Node", "NodeContext", "NodeFailure", "NodeRun", "NodeSpec",
    "NodeType", "Param", "Port", "Problem", "Registry", "RegistryError", "Run", "RunResult",
    "Services", "Workflow", "WorkflowFileError", "compile_workflow", "core_registry", "dumps",
    "load", "loads", "register_core", "run_workflow", "save",
]
