"""A renamed node type still loads: `legacy_ids` on the type, the registry finds it by its old
id, and loading with a registry gives the nodes the current id (so the next save writes it)."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine import compile_workflow, core_registry, fileformat
from engine.errors import RegistryError
from engine.executor import Run
from engine.nodetype import NodeType, Port
from engine.registry import Registry, upgrade_type_ids

ROOT = Path(__file__).resolve().parents[2]
RENAMED = ROOT / "tests" / "fixtures" / "renamed"
WRITTEN_BEFORE = RENAMED / "written_before.loom.json"


def shout_type() -> type[NodeType]:
    """The real plugin file's type (the CLI test loads the same file as a plugin)."""
    spec = importlib.util.spec_from_file_location("shout_plugin", RENAMED / "shout_plugin.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Shout


def registry_with_shout() -> Registry:
    registry = core_registry()
    registry.register(shout_type())
    return registry


def test_the_registry_finds_a_renamed_type_by_its_old_id_but_lists_only_the_new_one():
    registry = registry_with_shout()
    assert registry.get("demo.yell") is registry.get("text.shout")
    assert "demo.yell" in registry and registry.current_id("demo.yell") == "text.shout"
    assert registry.current_id("flow.start") == "flow.start"
    assert "demo.yell" not in registry.type_ids()
    assert [t.type_id for t in registry].count("text.shout") == 1


def test_a_file_written_before_the_rename_loads_runs_and_saves_with_the_new_id(tmp_path):
    registry = registry_with_shout()
    loaded = fileformat.load(WRITTEN_BEFORE, registry)
    assert loaded.problems == []  # quietly: no warning about the old id
    assert loaded.workflow.node("yell").type == "text.shout"
    result = asyncio.run(asyncio.wait_for(
        Run(compile_workflow(loaded.workflow, registry)).execute(), 20))
    assert result.ok and result.outputs == {"result": "WORLD!"}
    saved = tmp_path / "after.loom.json"
    fileformat.save(loaded.workflow, saved)
    after = json.loads(saved.read_text("utf-8"))
    before = json.loads(WRITTEN_BEFORE.read_text("utf-8"))
    assert [n["type"] for n in after["nodes"]] == ["flow.start", "data.expression",
                                                   "text.shout", "flow.output"]
    before["nodes"][2]["type"] = "text.shout"
    assert after == before, "nothing else changes"


def test_loading_without_a_registry_keeps_the_id_as_written_until_upgraded():
    workflow = fileformat.load(WRITTEN_BEFORE).workflow
    assert workflow.node("yell").type == "demo.yell"
    assert upgrade_type_ids(workflow, registry_with_shout()) == ["yell"]
    assert workflow.node("yell").type == "text.shout"
    assert upgrade_type_ids(workflow, registry_with_shout()) == []


def test_a_legacy_id_cannot_take_an_id_in_use_or_be_claimed_twice():
    registry = registry_with_shout()

    class Grab(NodeType):
        type_id = "text.grab"
        legacy_ids = ("flow.start",)
        outputs = (Port("out"),)

        def run(self, ctx):
            return {}

    with pytest.raises(RegistryError, match="'flow.start' is already registered"):
        registry.register(Grab)

    class Again(Grab):
        type_id = "text.again"
        legacy_ids = ("demo.yell",)

    with pytest.raises(RegistryError, match="'demo.yell' is a former id of"):
        registry.register(Again)

    class Squat(Grab):
        type_id = "demo.yell"
        legacy_ids = ()

    with pytest.raises(RegistryError, match="'demo.yell' is a former id of"):
        registry.register(Squat)
    assert "text.again" not in registry and registry.get("demo.yell").type_id == "text.shout"


def test_legacy_ids_are_declared_per_class_and_checked():
    shout = shout_type()

    class Louder(shout):
        type_id = "text.louder"

    assert Louder.own_legacy_ids() == ()  # a subclass is another type: no inherited old ids
    registry = registry_with_shout()
    registry.register(Louder)

    class Bad(shout):
        type_id = "text.bad"
        legacy_ids = "text.old"  # a string, not a tuple

    assert any("legacy_ids must be a tuple" in p for p in Bad.check_declaration())

    class Own(shout):
        type_id = "text.own"
        legacy_ids = ("text.own", "Not An Id")

    problems = Own.check_declaration()
    assert any("is the type's own id" in p for p in problems)
    assert any("'Not An Id' is not of the form" in p for p in problems)


def test_the_cli_runs_a_file_that_uses_a_plugin_types_old_id(tmp_path):
    plugins = tmp_path / "nodes"
    plugins.mkdir()
    shutil.copy(RENAMED / "shout_plugin.py", plugins)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "FLOWLOOM_NODES_DIR": str(plugins),
           "FLOWLOOM_HISTORY_DB": str(tmp_path / "history.db")}
    done = subprocess.run([sys.executable, "-m", "builder", "run", str(WRITTEN_BEFORE), "--json",
                           "--allow-run", "-q"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["status"] == "succeeded" and report["outputs"] == {"result": "WORLD!"}
    assert "demo.yell" not in done.stderr, "the old id is not worth a warning"
