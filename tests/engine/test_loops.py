"""The loop-port table names ports the engine's own loop types really have."""

from __future__ import annotations

from engine import core_registry
from engine.loops import LOOP_KINDS, LOOP_PORTS, is_back_port, loop_ports


def test_every_loop_kind_of_the_core_types_has_its_body_output_and_back_input():
    loops = {t.kind: t for t in core_registry() if t.kind in LOOP_KINDS}
    assert set(loops) == set(LOOP_PORTS)
    for kind, node_type in loops.items():
        ports = loop_ports(kind)
        assert ports.body in {p.name for p in node_type.outputs}
        assert ports.back in {p.name for p in node_type.inputs}


def test_only_the_back_input_of_a_loop_is_a_back_port():
    assert is_back_port("foreach", "result") and is_back_port("while", "next")
    assert not is_back_port("foreach", "items")
    assert not is_back_port("normal", "result")
    assert loop_ports("normal") is None
