"""Values on their way between nodes: the copy each node gets (`isolate`) and `Dead`, the value
of an output that carried nothing — `Failed` when a node's failure (`on_error: continue`) is why.
engine/scope.py moves them; docs/semantics.md says what a flow.merge makes of them.
"""

from __future__ import annotations

import copy
import sys
from typing import Any

from engine.errors import FlowloomError

__all__ = ["Dead", "Failed", "TooDeep", "isolate", "worse"]

_IMMUTABLE = frozenset({int, float, str, bool, type(None), bytes})


class TooDeep(FlowloomError):
    """A value is nested too deeply to copy (copy.deepcopy hit the recursion limit)."""


def isolate(value: Any) -> Any:
    """A copy of `value` that no other branch shares (immutable scalars are returned as is)."""
    if type(value) in _IMMUTABLE:
        return value
    try:
        return copy.deepcopy(value)
    except RecursionError:
        raise TooDeep(f"the value is nested too deeply to copy (copying it exceeded Python's "
                      f"recursion limit, {sys.getrecursionlimit()})") from None


class Dead:
    """The value of an output that carried nothing, with the reason why."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


class Failed(Dead):
    """Dead because a node failed with `on_error: continue` (directly, or upstream of the node
    that passed this on). `error` is that node's error payload, which a flow.merge takes in
    place of the value (docs/semantics.md: the branch ran)."""

    __slots__ = ("error",)

    def __init__(self, reason: str, error: dict[str, Any]) -> None:
        self.reason = reason
        self.error = error


def worse(dead: Dead | None, other: Dead) -> Dead:
    """The Dead value that skips a node: the first one, unless a later one carries a failure."""
    if dead is None or (isinstance(other, Failed) and not isinstance(dead, Failed)):
        return other
    return dead
