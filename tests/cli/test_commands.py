"""`flowloom validate`, `flowloom nodes`, editor routing, and headless runs staying Qt-free."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import builder.cli as cli
from nodes import default_registry
from tests.cli.conftest import EXAMPLES, ROOT, cli_env, run_cli


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.loom.json")), ids=lambda p: p.name)
def test_every_example_validates_clean(path, capsys):
    assert cli.main(["validate", str(path)]) == 0
    assert capsys.readouterr().out.strip() == f"{path}: ok, 0 warnings"


def test_validate_lists_errors_and_warnings_and_exits_2(capsys, write_workflow):
    path = write_workflow({
        "format": "flowloom.workflow", "version": 1, "name": "mixed",
        "nodes": [{"id": "alone", "type": "data.value", "params": {"value": 1}},
                  {"id": "v", "type": "data.value"},
                  {"id": "o", "type": "flow.output", "params": {"name": "r"}},
                  {"id": "w", "type": "util.delay", "params": {"seconds": "soon"}}],
        "edges": [{"source": "v", "source_port": "out", "target": "o", "target_port": "in"},
                  {"source": "v", "source_port": "nope", "target": "w", "target_port": "in"}]})
    assert cli.main(["validate", path]) == 2
    out = capsys.readouterr().out
    assert "node 'w': " in out and "seconds" in out
    assert "edge v.nope -> w.in" in out and "no output 'nope'" in out
    assert out.strip().endswith("2 errors, 0 warnings")


def test_validate_reports_unconnected_nodes_as_warnings(capsys, write_workflow):
    path = write_workflow({
        "format": "flowloom.workflow", "version": 1, "name": "warn",
        "nodes": [{"id": "v", "type": "data.value"}, {"id": "alone", "type": "data.value"},
                  {"id": "o", "type": "flow.output"}],
        "edges": [{"source": "v", "source_port": "out", "target": "o", "target_port": "in"}]})
    assert cli.main(["validate", path]) == 0
    out = capsys.readouterr().out
    assert "warning: node 'alone': is not connected to anything" in out
    assert out.strip().endswith("ok, 1 warning")


def test_validate_json_gives_problem_records(capsys, write_workflow):
    path = write_workflow({"format": "flowloom.workflow", "version": 1,
                           "nodes": [{"id": "a", "type": "no.such"}], "edges": []})
    assert cli.main(["validate", path, "--json"]) == 2
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    assert [(p["severity"], p["node"]) for p in report["problems"]] == [("error", "a")]


def test_validate_of_a_non_json_file_exits_2(tmp_path, capsys):
    path = tmp_path / "x.loom.json"
    path.write_text("[1, 2")
    assert cli.main(["validate", str(path)]) == 2
    assert "is not valid JSON" in capsys.readouterr().out


def test_nodes_lists_every_registered_type(capsys):
    assert cli.main(["nodes"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["TYPE", "TITLE", "CATEGORY", "DESCRIPTION"]
    listed = {line.split()[0] for line in lines[1:]}
    assert listed == set(default_registry().type_ids())
    foreach = next(line for line in lines if line.startswith("flow.foreach "))
    assert "For each" in foreach and "Flow" in foreach and "once per item" in foreach


def test_nodes_json_prints_the_specs(capsys):
    assert cli.main(["nodes", "--json"]) == 0
    specs = {s["type_id"]: s for s in json.loads(capsys.readouterr().out)}
    assert set(specs) == set(default_registry().type_ids())
    assert specs["util.delay"] == default_registry().get("util.delay").spec().to_dict()
    assert [p["name"] for p in specs["flow.if"]["outputs"]] == ["true", "false"]


@pytest.mark.parametrize("argv, expected", [
    ([], (None, None)),
    (["my.loom.json"], ("my.loom.json", None)),
    (["my.loom.json", "--screenshot", "shot.png"], ("my.loom.json", "shot.png")),
])
def test_no_command_routes_to_the_editor(monkeypatch, argv, expected):
    calls = []
    monkeypatch.setattr(cli, "open_editor", lambda path, shot: calls.append((path, shot)) or 0)
    assert cli.main(argv) == 0
    assert calls == [expected]


def test_without_a_display_flowloom_says_so_and_shows_the_headless_command():
    # Issue #10: with no display, `flowloom [FILE]` no longer runs anything in its place.
    env = cli_env(DISPLAY=None, WAYLAND_DISPLAY=None, QT_QPA_PLATFORM=None)
    proc = run_cli(env=env)
    assert "the editor needs a display" in proc.stderr
    assert "flowloom run resources/examples/hello.loom.json" in proc.stderr
    assert "QT_QPA_PLATFORM=offscreen" in proc.stderr
    assert proc.returncode == 2
    assert proc.stdout == ""


def test_has_display_reads_the_environment():
    assert not cli.has_display({})
    assert cli.has_display({"DISPLAY": ":0"})
    assert cli.has_display({"WAYLAND_DISPLAY": "wayland-0"})
    assert cli.has_display({"QT_QPA_PLATFORM": "offscreen"})


def test_flowloom_run_does_not_import_pyside6():
    code = (
        "import json, sys\n"
        "from builder.cli import main\n"
        f"rc = main(['run', '-q', {str(EXAMPLES / 'hello.loom.json')!r}])\n"
        "qt = sorted(m for m in sys.modules if m.startswith(('PySide6', 'shiboken6', 'qasync')))\n"
        "print(json.dumps({'rc': rc, 'qt': qt}), file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    report = json.loads(proc.stderr.strip().splitlines()[-1])
    assert report == {"rc": 0, "qt": []}


def test_help_exits_0():
    proc = run_cli("--help")
    assert proc.returncode == 0
    assert "run" in proc.stdout and "validate" in proc.stdout and "nodes" in proc.stdout
