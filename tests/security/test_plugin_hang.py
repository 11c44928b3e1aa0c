"""A plugin that hangs at import, or takes over 5 s, does not hang `flowloom`: it is reported by
name as not loaded and everything else works, in `nodes`, `validate`, `run` and the editor."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time

from nodes import default_registry
from nodes.plugins import load_folder
from tests.cli.conftest import EXAMPLES, ROOT, cli_env

SPIN = "while True:\n    pass\n"  # loops forever in Python code
SLEEPY = "import time\ntime.sleep(3600)\n"  # blocks in C, where no exception reaches it
GOOD = textwrap.dedent("""
    from nodes.api import NodeType
    class Fine(NodeType):
        type_id = "mine.fine"
        def run(self, ctx):
            return {}
""")
BOUND_S = 60  # far above the 5 s deadline per hanging plugin plus start-up


def _folder(tmp_path, **plugins: str):
    folder = tmp_path / "nodes"
    folder.mkdir()
    for name, text in plugins.items():
        (folder / f"{name}.py").write_text(text, encoding="utf-8")
    return folder


def _cli(args: list[str], folder, **env: str) -> tuple[subprocess.CompletedProcess[str], float]:
    t0 = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "builder", *args], cwd=ROOT,
                          env=cli_env(FLOWLOOM_NODES_DIR=str(folder), **env),
                          capture_output=True, text=True, timeout=BOUND_S)
    return done, time.monotonic() - t0


def test_flowloom_nodes_reports_hanging_plugins_by_name_and_lists_everything_else(tmp_path):
    folder = _folder(tmp_path, spin=SPIN, sleepy=SLEEPY, good=GOOD)
    done, elapsed = _cli(["nodes"], folder)
    assert done.returncode == 0, done.stderr
    assert "plugin 'spin.py' did not load within 5 s" in done.stderr
    assert "plugin 'sleepy.py' did not load within 5 s" in done.stderr
    assert "mine.fine" in done.stdout and "net.http" in done.stdout  # the rest all loaded
    # Two plugins of 5 s each, then the process exits although the sleeping thread never
    # returns (it is a daemon): well under the bound, not an hour.
    assert elapsed < 40, elapsed


def test_validate_and_run_work_beside_a_hanging_plugin(tmp_path):
    folder = _folder(tmp_path, spin=SPIN)
    hello = str(EXAMPLES / "hello.loom.json")
    checked, _ = _cli(["validate", hello], folder)
    assert checked.returncode == 0, checked.stderr
    assert "ok" in checked.stdout
    ran, _ = _cli(["run", hello, "--json", "--no-history"], folder)
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["status"] == "succeeded"
    assert "did not load within 5 s" in ran.stderr  # said, not hidden


def test_the_editor_opens_beside_a_hanging_plugin(tmp_path):
    folder = _folder(tmp_path, sleepy=SLEEPY)
    shot = tmp_path / "shot.png"
    done, _ = _cli([str(EXAMPLES / "hello.loom.json"), "--screenshot", str(shot)], folder,
                   QT_QPA_PLATFORM="offscreen", FLOWLOOM_DATA_DIR=str(tmp_path / "data"))
    assert done.returncode == 0, done.stderr
    assert shot.stat().st_size > 1000


def test_a_plugin_looping_in_python_is_stopped_not_left_spinning(tmp_path):
    folder = _folder(tmp_path, spin=SPIN, good=GOOD)
    registry = default_registry(plugins=False)
    t0 = time.monotonic()
    loaded = load_folder(registry, folder)
    assert time.monotonic() - t0 < 15
    assert loaded == [str(folder / "good.py")] and "mine.fine" in registry
    problems = dict(registry.load_problems)
    assert problems[str(folder / "spin.py")].startswith(
        "plugin 'spin.py' did not load within 5 s")
    deadline = time.monotonic() + 10  # the abandoned thread got an exception and ended
    while any(t.name == "flowloom-plugin:spin.py" for t in threading.enumerate()):
        assert time.monotonic() < deadline, "the spinning import thread is still running"
        time.sleep(0.02)


def test_a_plugin_that_finishes_after_the_deadline_is_not_registered_later(tmp_path):
    slow = "import time\ntime.sleep(6)\n" + GOOD.replace("mine.fine", "mine.late")
    folder = _folder(tmp_path, slow=slow)
    registry = default_registry(plugins=False)
    assert load_folder(registry, folder) == []
    assert "did not load within 5 s" in dict(registry.load_problems)[str(folder / "slow.py")]
    thread = next(t for t in threading.enumerate() if t.name == "flowloom-plugin:slow.py")
    thread.join(10)  # it finishes its import in the background...
    assert not thread.is_alive()
    assert "mine.late" not in registry  # ...and its types were never registered
