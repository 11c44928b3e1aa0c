"""The generated node reference: every type, its ports, params, purity and secret flags."""

from __future__ import annotations

from engine.nodetype import NodeType, Param, Port
from nodes import default_registry
from nodes.docs import markdown_reference


class Documented(NodeType):
    type_id = "zz.documented"
    title = "Documented"
    category = "Zeta"
    description = "A node that exists to be documented | with a pipe."
    inputs = (Port("items", "list", help="things"), Port("extra", required=False, multi=True))
    outputs = (Port("count", "number"),)
    parameters = (Param("mode", "str", default="fast", choices=("fast", "slow"), help="speed"),
                  Param("token_secret", "str", default="", secret=True),
                  Param("limit", "int", default=3, minimum=1, required=True))
    pure = True

    def run(self, ctx, items, extra=None):
        return {"count": len(items)}


def test_reference_lists_every_registered_type():
    registry = default_registry(plugins=False)
    text = markdown_reference(registry)
    for node_type in registry:
        assert f"`{node_type.type_id}`" in text
        assert f"### {node_type.title} — `{node_type.type_id}`" in text


def test_reference_shows_ports_params_choices_secret_and_purity():
    registry = default_registry(plugins=False)
    registry.register(Documented)
    text = markdown_reference(registry)
    section = text[text.index("## Zeta"):]
    assert "A node that exists to be documented \\| with a pipe." not in section  # not a table
    assert "A node that exists to be documented | with a pipe." in section
    assert "*pure (same inputs, same outputs; no effects)*" in section
    assert "| `items` | list | yes | things |" in section
    assert "| `extra` | any | no |  (many edges: values arrive as a list) |" in section
    assert "| `count` | number |  |" in section
    assert '| `mode` | str | `"fast"` | `fast`, `slow` | speed |' in section
    assert "| `token_secret` | str, **secret** (a credential name) | — | — |  |" in section
    assert "| `limit` | int, required, ≥ 1 | `3` | — |  |" in section
    assert "[`zz.documented`](#documented--zzdocumented)" in text
