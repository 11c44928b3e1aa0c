"""Planning a new wire: which edges a connect removes and adds, or why it cannot be made.

`connect_plan(workflow, registry, edge)` decides once, from the node types in the registry, what
drawing `edge` means — the shape of orange-canvas-core's `add_links_plan`: plan first, then the
editor carries the plan out through plain undo commands. A single (non-multi) input holds one
wire, so a new wire into a taken one replaces it; a multi input keeps the others. A wire picked
up and dropped elsewhere (`detached`) leaves as part of the same plan. The plan never changes
the workflow.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.errors import RegistryError
from engine.model import Edge, Workflow
from engine.registry import Registry
from engine.validate import connection_problem, node_ports


@dataclass(frozen=True, slots=True)
class ConnectPlan:
    """What connecting `edge` does: remove `remove` (in order), then add `add`.

    `problem` is one sentence saying why the edge cannot be connected; then nothing is removed
    or added. `replaced` are the wires the new one pushes out of a single input (`remove`
    without the detached wire)."""

    edge: Edge
    remove: tuple[Edge, ...] = ()
    add: tuple[Edge, ...] = ()
    replaced: tuple[Edge, ...] = ()
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def changes(self) -> bool:
        """Whether carrying the plan out changes the workflow (a wire dropped back where it
        was picked up does not)."""
        return bool(self.remove or self.add)


def is_single_input(workflow: Workflow, registry: Registry, node_id: str, port: str) -> bool:
    """Whether input `port` of node `node_id` holds one wire only (a known, non-multi input)."""
    node = workflow.nodes.get(node_id)
    if node is None:
        return False
    try:
        inputs, _ = node_ports(node, registry.get(node.type))
    except RegistryError:  # unknown type: the problems panel says so; replace nothing
        return False
    found = inputs.get(port)
    return found is not None and not found.multi


def connect_plan(workflow: Workflow, registry: Registry, edge: Edge,
                 detached: Edge | None = None) -> ConnectPlan:
    """The plan for connecting `edge`; `detached` is a wire of the workflow being moved (picked
    up at one end), which the plan removes and which is not counted as already connected."""
    if detached is not None and detached.key() == edge.key():
        return ConnectPlan(edge)  # dropped back where it was: nothing to do
    problem = connection_problem(workflow, registry, edge)
    if problem is not None:
        return ConnectPlan(edge, problem=problem)
    leaving = [detached] if detached is not None else []
    replaced: list[Edge] = []
    if is_single_input(workflow, registry, edge.target, edge.target_port):
        gone = {e.key() for e in leaving}
        replaced = [e for e in workflow.edges_into(edge.target, edge.target_port)
                    if e.key() not in gone]
    return ConnectPlan(edge, remove=tuple(leaving + replaced), add=(edge,),
                       replaced=tuple(replaced))
