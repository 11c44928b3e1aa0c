"""The node-type registry: type id -> class. Refuses duplicates, raises on unknown ids.

A registry is an ordinary object that callers build and pass in; there is no global one.
A type renamed since a file was written lists its old ids in `legacy_ids`: `get` finds it by
either id, and `upgrade_type_ids` rewrites a loaded workflow's nodes to the current ids, so the
next save writes them (the file format does it whenever it loads with a registry).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

from engine.errors import RegistryError
from engine.nodetype import NodeType

if TYPE_CHECKING:  # pragma: no cover - typing only
    from engine.model import Workflow

log = logging.getLogger(__name__)


class Registry:
    def __init__(self) -> None:
        self._types: dict[str, type[NodeType]] = {}
        self._legacy: dict[str, str] = {}  # old type id -> the id it has now
        # Plugins that could not be loaded: (plugin name, reason). Filled by nodes/plugins.py.
        self.load_problems: list[tuple[str, str]] = []

    def register(self, node_type: type[NodeType]) -> type[NodeType]:
        """Add a type. Usable as a class decorator. Raises RegistryError on a bad or taken id."""
        if not (isinstance(node_type, type) and issubclass(node_type, NodeType)):
            raise RegistryError(f"{node_type!r} is not a NodeType subclass")
        problems = node_type.check_declaration()
        if problems:
            raise RegistryError(f"node type {node_type.type_id!r}: " + "; ".join(problems))
        for taken in (node_type.type_id, *node_type.own_legacy_ids()):
            existing = self._types.get(self._legacy.get(taken, taken))
            if existing is not None:
                how = "a former id of" if taken in self._legacy else "already registered by"
                raise RegistryError(
                    f"node type id {taken!r} is {how} "
                    f"{existing.__module__}.{existing.__qualname__}"
                )
        self._types[node_type.type_id] = node_type
        for old in node_type.own_legacy_ids():
            self._legacy[old] = node_type.type_id
        return node_type

    def get(self, type_id: str) -> type[NodeType]:
        """The type with this id, or with this as one of its former ids."""
        try:
            return self._types[self._legacy.get(type_id, type_id)]
        except KeyError:
            raise RegistryError(f"unknown node type {type_id!r}") from None

    def current_id(self, type_id: str) -> str:
        """The id a type is registered under now (`type_id` itself unless it is a former id)."""
        return self._legacy.get(type_id, type_id)

    def __contains__(self, type_id: object) -> bool:
        return type_id in self._types or type_id in self._legacy

    def __iter__(self) -> Iterator[type[NodeType]]:
        return iter(sorted(self._types.values(), key=lambda t: (t.category, t.type_id)))

    def __len__(self) -> int:
        return len(self._types)

    def type_ids(self) -> list[str]:
        return sorted(self._types)


def upgrade_type_ids(workflow: Workflow, registry: Registry) -> list[str]:
    """Give every node whose type is a former id its type's current id; returns those node ids.

    Meant for a workflow just loaded, before anyone follows its changes (no notification)."""
    renamed = []
    for node in workflow.nodes.values():
        current = registry.current_id(node.type)
        if current != node.type:
            log.debug("node %s: type %s is now %s", node.id, node.type, current)
            node.type = current
            renamed.append(node.id)
    return renamed
