"""The loop constructs' two special ports, named once for the compiler, the canvas and the views.

A loop node (kind "foreach" or "while", engine/corenodes.py) starts each iteration of its body
from one output (`body`) and takes the iteration's value back through one input (`back`): the
edge into `back` is the loop's back edge, the only kind of cycle a workflow may hold.
"""

from __future__ import annotations

from typing import NamedTuple


class LoopPorts(NamedTuple):
    body: str  # the output each iteration of the body starts from
    back: str  # the input through which an iteration's value comes back


LOOP_PORTS: dict[str, LoopPorts] = {"foreach": LoopPorts("item", "result"),
                                    "while": LoopPorts("body", "next")}
LOOP_KINDS: tuple[str, ...] = tuple(LOOP_PORTS)


def loop_ports(kind: str) -> LoopPorts | None:
    """The loop ports of a node of this kind; None for a node that is not a loop."""
    return LOOP_PORTS.get(kind)


def is_back_port(kind: str, target_port: str) -> bool:
    """Whether an edge into `target_port` of a node of `kind` is a loop's back edge."""
    ports = LOOP_PORTS.get(kind)
    return ports is not None and ports.back == target_port
