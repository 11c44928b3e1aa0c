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
        self._chains: dict[str, list[str]] = {}

    def inputs_of(self, node_id: str, iteration: tuple[int, ...]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        nodes = self.nodes
        for edge in self.incoming.get(node_id, ()):
            item = self._loop_item(edge.source, edge.source_port, node_id, iteration)
            if item is not _NONE:
                found.setdefault(edge.target_port, []).append(item)
                continue
            for depth in range(len(iteration), -1, -1):
                rec = nodes.get((edge.source, iteration[:depth]))
                if rec is not None:
                    outputs = rec["outputs"] or {}
                    if edge.source_port in outputs:
                        found.setdefault(edge.target_port, []).append(outputs[edge.source_port])
                    break
        return {port: values[0] if len(values) == 1 else values for port, values in found.items()}

    def _chain(self, node_id: str) -> list[str]:
        """The loops around `node_id`, innermost first."""
        chain = self._chains.get(node_id)
        if chain is None:
            chain = []
            scope = self.compiled.scope_of.get(node_id)
            while scope is not None:
                chain.append(scope)
                scope = self.compiled.scope_of.get(scope)
            self._chains[node_id] = chain
        return chain

    def _loop_item(self, source: str, port: str, node_id: str,
                   iteration: tuple[int, ...]) -> Any:
        """The item a flow.foreach around `node_id` handed its body in this iteration (the loop
        gives it inside the body, not as an output of its own): its `items` input at that
        index."""
        if port != "item":
            return _NONE
        pn = self.compiled.nodes.get(source)
        if pn is None or pn.kind != "foreach":
            return _NONE
        chain = self._chain(node_id)
        if source not in chain:
            return _NONE
        depth = len(chain) - 1 - chain.index(source)  # the loop's own iteration path length
        if depth >= len(iteration):
            return _NONE
        at = (source, iteration[:depth])
        loop_inputs = self._loop_inputs.get(at)
        if loop_inputs is None:
            loop_inputs = self._loop_inputs[at] = self.inputs_of(*at)
        items = loop_inputs.get("items")
        index = iteration[depth]
        return items[index] if isinstance(items, list) and 0 <= index < len(items) else _NONE
