"""The default registry: engine types + every built-in named in the node-library issue."""

from __future__ import annotations

import pytest

from engine.errors import RegistryError
from engine.registry import Registry
from nodes import default_registry
from nodes.builtin import BUILTIN_MODULES, builtin_types, register_builtins

ISSUE_TYPE_IDS = {
    "net.http", "ai.chat", "text.template", "data.json_parse", "data.json_format", "data.get",
    "data.set", "data.filter", "data.map", "data.sort", "file.read", "file.write", "file.list",
    "code.python", "tool.calculator", "human.approval", "flow.subworkflow", "util.log",
    "flow.fail",
}


def test_default_registry_has_every_builtin_and_the_engine_types():
    registry = default_registry(plugins=False)
    assert ISSUE_TYPE_IDS <= set(registry.type_ids())
    assert {"flow.start", "flow.output", "flow.if", "flow.foreach"} <= set(registry.type_ids())
    assert registry.load_problems == []


def test_every_builtin_declares_complete_metadata():
    for node_type in builtin_types():
        spec = node_type.spec()
        assert spec.title and spec.title != spec.type_id, spec.type_id
        assert spec.description and "\n" not in spec.description, spec.type_id
        assert spec.category != "Other", spec.type_id
        for param in spec.parameters:
            # every default must itself be a valid value, so a fresh node checks clean
            assert param.check(param.default) is None or param.required, (spec.type_id,
                                                                           param.name)


def test_a_builtin_clash_is_a_bug_and_raises():
    registry = register_builtins(Registry())
    with pytest.raises(RegistryError, match="built-in node library"):
        register_builtins(registry)


def test_builtin_modules_all_import():
    assert len(builtin_types()) >= len(ISSUE_TYPE_IDS)
    assert "nodes.http" in BUILTIN_MODULES and "nodes.llm" in BUILTIN_MODULES
