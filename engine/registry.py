"""The node-type registry: type id -> class. Refuses duplicates, raises on unknown ids.

A registry is an ordinary object that callers build and pass in; there is no global one.
"""

from __future__ import annotations

from collections.abc import Iterator

from engine.errors import RegistryError
from engine.nodetype import NodeType


class Registry:
    def __init__(self) -> None:
        self._types: dict[str, type[NodeType]] = {}
        # Plugins that could not be loaded: (plugin name, reason). Filled by nodes/plugins.py.
        self.load_problems: list[tuple[str, str]] = []

    def register(self, node_type: type[NodeType]) -> type[NodeType]:
        """Add a type. Usable as a class decorator. Raises RegistryError on a bad or taken id."""
        if not (isinstance(node_type, type) and issubclass(node_type, NodeType)):
            raise RegistryError(f"{node_type!r} is not a NodeType subclass")
        problems = node_type.check_declaration()
        if problems:
            raise RegistryError(f"node type {node_type.type_id!r}: " + "; ".join(problems))
        existing = self._types.get(node_type.type_id)
        if existing is not None:
            raise RegistryError(
                f"node type id {node_type.type_id!r} is already registered by "
                f"{existing.__module__}.{existing.__qualname__}"
            )
        self._types[node_type.type_id] = node_type
        return node_type

    def get(self, type_id: str) -> type[NodeType]:
        try:
            return self._types[type_id]
        except KeyError:
            raise RegistryError(f"unknown node type {type_id!r}") from None

    def __contains__(self, type_id: object) -> bool:
        return type_id in self._types

    def __iter__(self) -> Iterator[type[NodeType]]:
        return iter(sorted(self._types.values(), key=lambda t: (t.category, t.type_id)))

    def __len__(self) -> int:
        return len(self._types)

    def type_ids(self) -> list[str]:
        return sorted(self._types)
