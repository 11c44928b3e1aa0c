"""The built-in node library: which modules hold it, and loading them into a registry.

Each module in `BUILTIN_MODULES` exposes `TYPES: tuple[type[NodeType], ...]`. A built-in
module that fails to import, or clashes with a type already registered, is a bug in Flowloom
and raises (unlike a plugin, which is reported and skipped).
"""

from __future__ import annotations

import importlib

from engine.errors import RegistryError
from engine.nodetype import NodeType
from engine.registry import Registry

BUILTIN_MODULES: tuple[str, ...] = (
    "nodes.data",
    "nodes.text",
    "nodes.files",
    "nodes.code",
    "nodes.tools",
    "nodes.human",
    "nodes.flowctl",
    "nodes.http",
    "nodes.llm",
    "nodes.agent",
    "nodes.memory",
)


def builtin_types(modules: tuple[str, ...] = BUILTIN_MODULES) -> list[type[NodeType]]:
    """Every built-in node type, in module order."""
    types: list[type[NodeType]] = []
    for name in modules:
        types.extend(importlib.import_module(name).TYPES)
    return types


def register_builtins(registry: Registry) -> Registry:
    """Add every built-in type; a clash with a type already there is a bug and raises."""
    for node_type in builtin_types():
        try:
            registry.register(node_type)
        except RegistryError as exc:
            raise RegistryError(f"built-in node library: {exc}") from None
    return registry
