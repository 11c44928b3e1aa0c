"""Flowloom's node library: the built-in node types beyond the engine's own, and plugins.

`default_registry()` is what the CLI and the editor use: the engine's control-flow types, the
built-in library, and every plugin that loads (those that fail are listed in
`registry.load_problems`, never raised).
"""

from __future__ import annotations

from engine.corenodes import register_core
from engine.registry import Registry
from nodes.builtin import register_builtins
from nodes.plugins import load_plugins


def default_registry(plugins: bool = True) -> Registry:
    """Engine core types + the built-in library (+ plugins unless `plugins=False`)."""
    registry = register_builtins(register_core(Registry()))
    if plugins:
        load_plugins(registry)
    return registry
