"""The built-in node library: which modules hold it, and loading them into a registry.

Each module in `BUILTIN_MODULES` exposes `TYPES: tuple[type[NodeType], ...]`.
`nodes.http` and `nodes.llm` are written separately; until they exist, a module that is missing
is skipped with a logged warning (temporary: once both land, a missing built-in is a bug and
should raise).
"""

from __future__ import annotations

import importlib
import logging

from engine.errors import RegistryError
from engine.nodetype import NodeType
from engine.registry import Registry

log = logging.getLogger(__name__)

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
)

# Modules another engineer is still writing; a ModuleNotFoundError for exactly these is tolerated.
_PENDING = frozenset({"nodes.http", "nodes.llm"})


def builtin_types(modules: tuple[str, ...] = BUILTIN_MODULES) -> list[type[NodeType]]:
    """Every built-in node type, in module order."""
    types: list[type[NodeType]] = []
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if name in _PENDING and exc.name == name:
                log.warning("built-in node module %s is not there yet; skipped", name)
                continue
            raise
        types.extend(module.TYPES)
    return types


def register_builtins(registry: Registry) -> Registry:
    """Add every built-in type; a clash with a type already there is a bug and raises."""
    for node_type in builtin_types():
        try:
            registry.register(node_type)
        except RegistryError as exc:
            raise RegistryError(f"built-in node library: {exc}") from None
    return registry
