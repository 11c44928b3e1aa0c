"""The values that reached each node execution of a run along its wires, found after the run
from the outputs its RunTap recorded (store.write_record keeps them as the execution's inputs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - typing only
    from engine.compile import Compiled

_NONE = object()


class Wires:
    """The values that reached each node execution along its wires, from the recorded outputs
    of its sources (in the same loop iteration or around it); a loop's own inputs are found
    once per loop execution, not once per item it handed on."""

    def __init__(self, compiled: Compiled,
                 nodes: dict[tuple[str, tuple[int, ...]], dict[str, Any]]) -> None:
        self.compiled = compiled
        self.nodes = nodes  # RunTap.nodes: (node, iteration) -> {"outputs", ...}
        self.incoming: dict[str, list[Any]] = {}
        for edge in self.compiled.workflow.edges:
            self.incoming.setdefault(edge.target, []).append(edge)
        self._loop_inputs: dict[tuple[str, tuple[int, ...]], dict[str, Any]] = {}
        self._plans: dict[str, list[tuple[Any, int | None]]] = {}

    def inputs_of(self, node_id: str, iteration: tuple[int, ...]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        nodes = self.nodes
        for edge, loop_depth in self._wires(node_id):
            if loop_depth is not None and loop_depth < len(iteration):
                items = self._items(edge.source, iteration[:loop_depth])
                index = iteration[loop_depth]
                if isinstance(items, list) and 0 <= index < len(items):
                    found.setdefault(edge.target_port, []).append(items[index])
                    continue
            for depth in range(len(iteration), -1, -1):
                rec = nodes.get((edge.source, iteration[:depth]))
                if rec is not None:
                    outputs = rec["outputs"] or {}
                    if edge.source_port in outputs:
                        found.setdefault(edge.target_port, []).append(outputs[edge.source_port])
                    break
        return {port: values[0] if len(values) == 1 else values for port, values in found.items()}

    def one_wire(self, node_id: str) -> Any:
        """The edge into `node_id` when it is its only one and no loop is around the node
        (then its inputs are {edge.target_port: the source's value}, if it gave one), else
        None."""
        incoming = self.incoming.get(node_id)
        if incoming is None or len(incoming) != 1 \
                or self.compiled.scope_of.get(node_id) is not None:
            return None
        return incoming[0]

    def one_wires(self) -> dict[str, Any]:
        """node -> `one_wire(node)`, for the nodes that have one (its `get` is the lookup
        without a call a node)."""
        scope_of = self.compiled.scope_of
        return {node_id: incoming[0] for node_id, incoming in self.incoming.items()
                if len(incoming) == 1 and scope_of.get(node_id) is None}

    def top_inputs(self, node_id: str) -> dict[str, Any]:
        """`inputs_of(node_id, ())` for a node no loop is around (the usual top-level node),
        without the iteration walk: its sources ran at the top level or not at all."""
        if self.compiled.scope_of.get(node_id) is not None:
            return self.inputs_of(node_id, ())
        incoming = self.incoming.get(node_id)
        if not incoming:
            return {}
        nodes = self.nodes
        if len(incoming) == 1:  # one wire: its value, if its source gave one
            edge = incoming[0]
            rec = nodes.get((edge.source, ()))
            if rec is not None:
                outputs = rec["outputs"] or {}
                if edge.source_port in outputs:
                    return {edge.target_port: outputs[edge.source_port]}
            return {}
        found: dict[str, list[Any]] = {}
        for edge in incoming:
            rec = nodes.get((edge.source, ()))
            if rec is not None:
                outputs = rec["outputs"] or {}
                if edge.source_port in outputs:
                    found.setdefault(edge.target_port, []).append(outputs[edge.source_port])
        return {port: values[0] if len(values) == 1 else values for port, values in found.items()}

    def _wires(self, node_id: str) -> list[tuple[Any, int | None]]:
        """`node_id`'s incoming edges, each with, for the `item` of a flow.foreach around it
        (the loop hands it to its body, it is no output of the loop's own), the length of the
        loop's own iteration path."""
        wires = self._plans.get(node_id)
        if wires is None:
            chain = []  # the loops around node_id, innermost first
            scope = self.compiled.scope_of.get(node_id)
            while scope is not None:
                chain.append(scope)
                scope = self.compiled.scope_of.get(scope)
            wires = []
            for edge in self.incoming.get(node_id, ()):
                pn = self.compiled.nodes.get(edge.source)
                looped = (edge.source_port == "item" and pn is not None
                          and pn.kind == "foreach" and edge.source in chain)
                wires.append((edge, len(chain) - 1 - chain.index(edge.source) if looped
                              else None))
            self._plans[node_id] = wires
        return wires

    def _items(self, loop: str, iteration: tuple[int, ...]) -> Any:
        """The `items` input of one execution of a flow.foreach."""
        at = (loop, iteration)
        inputs = self._loop_inputs.get(at)
        if inputs is None:
            inputs = self._loop_inputs[at] = self.inputs_of(loop, iteration)
        return inputs.get("items")
