"""Plugins: the example package found through a real entry point, the hello-world node from
docs/plugins.md loaded from a node folder, and broken plugins reported by name, never raised."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import tomllib
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from engine.compile import compile_workflow
from engine.executor import Run
from engine.model import Edge, Node, Workflow
from nodes import default_registry
from nodes.plugins import ENTRY_POINT_GROUP, load_entry_points, load_folder

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = Path(__file__).resolve().parent / "flowloom_example_plugin"


@pytest.fixture
def installed_example(tmp_path, monkeypatch):
    """Install the example package the way pip lays it out: code on sys.path plus a
    .dist-info folder whose entry_points.txt comes from the package's pyproject."""
    project = tomllib.loads((PACKAGE / "pyproject.toml").read_text())["project"]
    points = project["entry-points"][ENTRY_POINT_GROUP]
    info = tmp_path / "flowloom_example_plugin-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {project['name']}\n"
                                   f"Version: {project['version']}\n")
    (info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\n" + "".join(f"{k} = {v}\n" for k, v in points.items()))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(PACKAGE))
    monkeypatch.setenv("FLOWLOOM_NODES_DIR", str(tmp_path / "no-such-folder"))
    yield
    for name in [m for m in sys.modules if m.startswith("flowloom_example_plugin")]:
        del sys.modules[name]


async def run_chain(registry, type_id: str, in_port: str, out_port: str, value, **params):
    workflow = Workflow(nodes=[
        Node("v", "data.value", params={"value": value}),
        Node("n", type_id, params=params),
        Node("o", "flow.output", params={"name": "result"}),
    ], edges=[Edge("v", "out", "n", in_port), Edge("n", out_port, "o", "in")])
    return await Run(compile_workflow(workflow, registry)).execute()


@pytest.mark.asyncio
async def test_example_package_is_found_through_its_entry_point_and_runs(installed_example):
    registry = default_registry()
    assert registry.load_problems == []
    assert "example.word_count" in registry and "example.slugify" in registry
    result = await run_chain(registry, "example.word_count", "text", "count", "one two three")
    assert result.outputs == {"result": 3}
    result = await run_chain(registry, "example.slugify", "text", "slug", "Héllo, Wörld 2!",
                             separator="_")
    assert result.outputs == {"result": "hello_world_2"}
    result = await run_chain(registry, "example.slugify", "text", "slug", "!!!")
    assert "'!!!' has no letters or digits" in result.nodes["n"].error


def hello_world_source() -> str:
    text = (ROOT / "docs" / "plugins.md").read_text()
    return re.search(r"```python\n(.*?)```", text, re.S).group(1)


def test_hello_world_in_the_guide_is_at_most_ten_lines():
    assert len(hello_world_source().strip().splitlines()) <= 10


@pytest.mark.asyncio
async def test_hello_world_from_the_guide_loads_from_the_node_folder_and_runs(tmp_path,
                                                                              monkeypatch):
    (tmp_path / "hello.py").write_text(hello_world_source())
    monkeypatch.setenv("FLOWLOOM_NODES_DIR", str(tmp_path))
    registry = default_registry()
    assert registry.load_problems == []
    result = await run_chain(registry, "my.hello", "name", "greeting", "Ada")
    assert result.outputs == {"result": "Hello, Ada!"}


def write(folder: Path, name: str, source: str) -> None:
    (folder / name).write_text(textwrap.dedent(source))


def test_broken_plugins_are_reported_by_name_and_skipped(tmp_path):
    write(tmp_path, "good.py", """
        from nodes.api import NodeType
        class Good(NodeType):
            type_id = "mine.good"
            def run(self, ctx):
                return {"out": 1}
    """)
    write(tmp_path, "crashes.py", "raise RuntimeError('plugin exploded')\n")
    write(tmp_path, "exits.py", "import sys\nsys.exit(3)\n")
    write(tmp_path, "missing_dep.py", "import no_such_module_for_flowloom\n")
    write(tmp_path, "taken.py", """
        from nodes.api import NodeType
        class Other(NodeType):
            type_id = "mine.other"
            def run(self, ctx):
                return {}
        class Clash(NodeType):
            type_id = "data.get"
            def run(self, ctx):
                return {}
    """)
    write(tmp_path, "badly_declared.py", """
        from nodes.api import NodeType, Port
        class Bad(NodeType):
            type_id = "mine.bad"
            inputs = (Port("x", "float"),)
            def run(self, ctx, x):
                return {}
    """)
    write(tmp_path, "empty.py", "VALUE = 1\n")
    write(tmp_path, "_private.py", "raise RuntimeError('never imported')\n")
    registry = default_registry(plugins=False)
    loaded = load_folder(registry, tmp_path)
    assert loaded == [str(tmp_path / "good.py")]
    assert "mine.good" in registry
    assert "mine.other" not in registry  # its plugin also had a clash: all or nothing
    problems = {Path(name).name: reason for name, reason in registry.load_problems}
    assert set(problems) == {"crashes.py", "exits.py", "missing_dep.py", "taken.py",
                             "badly_declared.py", "empty.py"}
    assert "RuntimeError: plugin exploded (crashes.py, line 1)" in problems["crashes.py"]
    assert "SystemExit" in problems["exits.py"]
    assert "No module named 'no_such_module_for_flowloom'" in problems["missing_dep.py"]
    assert "'data.get' is already taken" in problems["taken.py"]
    assert "unknown type 'float'" in problems["badly_declared.py"]
    assert problems["empty.py"] == "it defines no node type"


def test_broken_entry_point_is_reported_by_name():
    registry = default_registry(plugins=False)
    found = [EntryPoint("ghost", "flowloom_no_such_plugin:TYPES", ENTRY_POINT_GROUP),
             EntryPoint("notatype", "json:dumps", ENTRY_POINT_GROUP)]
    assert load_entry_points(registry, found) == []
    names = dict(registry.load_problems)
    assert "No module named 'flowloom_no_such_plugin'" in names[
        "ghost (flowloom_no_such_plugin:TYPES)"]
    assert "neither a NodeType subclass" in names["notatype (json:dumps)"]


def test_engine_and_nodes_load_no_qt():
    code = ("import sys, nodes, nodes.code, nodes.credentials, nodes.docs, nodes.approvals;"
            "nodes.default_registry();"
            "assert not [m for m in sys.modules if m.startswith('PySide6')], 'Qt loaded'")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def _dist_info(folder: Path, name: str, entry_points: str | None) -> None:
    info = folder / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    if entry_points is not None:
        (info / "entry_points.txt").write_text(entry_points)


def test_the_quick_look_finds_a_distribution_declaring_the_group_and_only_that(tmp_path):
    from nodes.plugins import may_declare_entry_points

    site = tmp_path / "site"
    _dist_info(site, "plain", None)
    _dist_info(site, "scripts", "[console_scripts]\nx = x:main\n")
    assert not may_declare_entry_points([str(site), str(tmp_path / "not-there")])
    _dist_info(site, "nodepack", f"[{ENTRY_POINT_GROUP}]\nn = nodepack:TYPES\n")
    assert may_declare_entry_points([str(site)])
    zipped = tmp_path / "bundle.zip"
    zipped.write_bytes(b"PK\x05\x06" + bytes(18))  # an empty zip: only importlib can look in
    assert may_declare_entry_points([str(zipped)])


def test_a_start_without_plugin_packages_never_imports_importlib_metadata(tmp_path):
    code = ("import sys\nfrom nodes import default_registry\nregistry = default_registry()\n"
            "print(len(registry), 'importlib.metadata' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=120,
                         env={"PATH": "/usr/bin:/bin", "FLOWLOOM_NODES_DIR": str(tmp_path)})
    assert out.returncode == 0, out.stderr
    count, imported = out.stdout.split()
    assert int(count) > 20 and imported == "False"


def test_the_quick_look_reads_the_path_when_the_metadata_backport_is_loaded(tmp_path):
    import importlib_metadata  # the backport puts its path finder on sys.meta_path

    from nodes.plugins import may_declare_entry_points

    assert any(type(f).__module__ == "importlib_metadata" for f in sys.meta_path)
    assert importlib_metadata.version("pytest")
    site = tmp_path / "site"
    _dist_info(site, "plain", None)
    assert not may_declare_entry_points([str(site)])
    _dist_info(site, "nodepack", f"[{ENTRY_POINT_GROUP}]\nn = nodepack:TYPES\n")
    assert may_declare_entry_points([str(site)])
