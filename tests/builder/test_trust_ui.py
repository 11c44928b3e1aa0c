"""The editor and files from elsewhere: banner, code marks, the permissions dialog, trust."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from builder.mainwindow import MainWindow
from builder.permissions_dialog import PermissionsDialog
from builder.trust_banner import CodeMark
from engine.permissions import Grants
from engine.trust import TrustStore
from nodes import default_registry
from tests.builder.shell_support import Answers, temp_settings

ROOT = Path(__file__).resolve().parents[2]


def strangers_file(folder: Path) -> tuple[Path, Path]:
    """A workflow whose code node would create `marker` if it ever ran."""
    marker = folder / "ran.txt"
    path = folder / "stranger.loom.json"
    path.write_text(json.dumps({
        "format": "flowloom.workflow", "version": 1, "name": "stranger", "nodes": [
            {"id": "code", "type": "code.python", "position": [0, 0],
             "params": {"code": f"open({str(marker)!r}, 'w').write('x')\nresult = 1"}},
            {"id": "notes", "type": "file.read", "position": [0, 200],
             "params": {"path": "notes.txt"}},
            {"id": "v", "type": "data.value", "position": [300, 0], "params": {"value": 1}}],
        "edges": []}), encoding="utf-8")
    (folder / "notes.txt").write_text("hello")
    return path, marker


def make_window(qtbot, tmp_path: Path, answers: Answers | None = None) -> MainWindow:
    window = MainWindow(default_registry(plugins=False), temp_settings(tmp_path),
                        (answers or Answers()).prompts(), recover=False, theme_mode="dark")
    qtbot.addWidget(window)
    window.show()
    return window


def until(loop, condition, timeout: float = 15.0) -> None:
    async def wait():
        while not condition():
            await asyncio.sleep(0.01)

    loop.run_until_complete(asyncio.wait_for(wait(), timeout))


def answer_dialog(act) -> tuple[list[PermissionsDialog], QTimer]:
    """Poll for the modal permissions dialog and act on it (exec() blocks the test)."""
    seen: list[PermissionsDialog] = []
    timer = QTimer()

    def poll() -> None:
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, PermissionsDialog) and dialog not in seen:
            seen.append(dialog)
            act(dialog)

    timer.timeout.connect(poll)
    timer.start(20)
    return seen, timer


def test_opening_and_validating_a_file_never_executes_it(qtbot, tmp_path: Path) -> None:
    path, marker = strangers_file(tmp_path)
    window = make_window(qtbot, tmp_path)
    assert window.session.open_file(path)
    window.problems.check_now()
    qtbot.wait(50)
    done = subprocess.run([sys.executable, "-m", "builder", "validate", str(path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not marker.exists()


def test_an_untrusted_file_opens_under_a_banner_with_its_code_marked(qtbot,
                                                                    tmp_path: Path) -> None:
    path, _ = strangers_file(tmp_path)
    window = make_window(qtbot, tmp_path)
    assert window.session.open_file(path)
    gate = window.trust
    assert not window.document.trusted
    qtbot.waitUntil(lambda: gate.bar.isVisible())
    text = gate.banner.label.text()
    assert "came from elsewhere" in text and "Nothing in it runs" in text
    assert "reads 1 path" in text and "runs 1 code node" in text
    assert set(gate.marks) == {"code"}
    assert isinstance(gate.marks["code"], CodeMark)
    assert gate.marks["code"].parentItem() is window.canvas.node_item("code")
    assert window.runner.grants == Grants()  # until allowed, runs may touch nothing
    example = make_window(qtbot, tmp_path / "w2")
    assert example.session.open_file(ROOT / "resources/examples/hello.loom.json")
    assert example.document.trusted and not example.trust.bar.isVisible()
    assert example.runner.grants is None


def test_the_first_run_shows_the_manifest_and_cancel_runs_nothing(qtbot, qloop,
                                                                 tmp_path: Path) -> None:
    path, marker = strangers_file(tmp_path)
    window = make_window(qtbot, tmp_path)
    assert window.session.open_file(path)
    rows: list[tuple[str, str]] = []

    def inspect_then_cancel(dialog: PermissionsDialog) -> None:
        for item in dialog.entries():
            rows.append((item.text(0), item.text(1)))
        notes = next(i for i in dialog.entries() if i.text(1) == "notes")
        dialog.tree.itemClicked.emit(notes, 0)  # an entry selects its node
        rows.append(("selected", ",".join(window.canvas.selected_node_ids())))
        dialog.cancel_button.click()

    seen, timer = answer_dialog(inspect_then_cancel)
    assert window.run_workflow() is False
    timer.stop()
    assert len(seen) == 1
    assert rows == [(str(tmp_path / "notes.txt"), "notes"), ("code.python", "code"),
                    ("selected", "notes")]
    assert not window.runner.running and not marker.exists()
    assert "Run cancelled" in window.statusBar().currentMessage()


def test_allow_once_runs_with_what_was_listed_and_keeps_the_file_untrusted(
        qtbot, qloop, tmp_path: Path) -> None:
    path, marker = strangers_file(tmp_path)
    window = make_window(qtbot, tmp_path)
    assert window.session.open_file(path)
    seen, timer = answer_dialog(lambda d: d.allow_button.click())
    assert window.run_workflow() is True
    until(qloop, lambda: window.runner.result is not None)
    assert window.runner.result.status == "succeeded", window.runner.result.error
    assert marker.exists()
    assert window.runner.grants.read == frozenset({str(tmp_path / "notes.txt")})
    marker.unlink()
    assert window.run_workflow() is True  # allowed already: no second dialog
    until(qloop, lambda: not window.runner.running and marker.exists())
    timer.stop()
    assert len(seen) == 1
    assert not TrustStore().is_trusted(path) and window.trust.bar.isVisible()


def test_trust_this_file_is_remembered_until_the_file_changes(qtbot, qloop,
                                                             tmp_path: Path) -> None:
    path, marker = strangers_file(tmp_path)
    window = make_window(qtbot, tmp_path)
    assert window.session.open_file(path)
    seen, timer = answer_dialog(lambda d: d.trust_button.click())
    assert window.run_workflow() is True
    until(qloop, lambda: window.runner.result is not None)
    timer.stop()
    assert marker.exists() and len(seen) == 1
    assert window.runner.grants is None and not window.trust.bar.isVisible()
    assert window.trust.marks == {}
    again = make_window(qtbot, tmp_path / "again")
    assert again.session.open_file(path) and again.document.trusted
    path.write_text(path.read_text().replace("hello", "hullo") + " ")  # changed elsewhere
    third = make_window(qtbot, tmp_path / "third")
    assert third.session.open_file(path) and not third.document.trusted


def test_files_saved_by_the_editor_are_trusted_a_strangers_save_is_not(
        qtbot, tmp_path: Path) -> None:
    window = make_window(qtbot, tmp_path)
    mine = tmp_path / "mine.loom.json"
    window.session.document.save_to(mine)
    assert TrustStore().is_trusted(mine)
    path, _ = strangers_file(tmp_path)
    assert window.session.open_file(path)
    window.session.document.save_to(path)  # saving does not launder a stranger's file
    assert not TrustStore().is_trusted(path)


def test_restored_work_over_a_strangers_file_stays_untrusted(qtbot, tmp_path: Path,
                                                             monkeypatch) -> None:
    monkeypatch.setenv("FLOWLOOM_DATA_DIR", str(tmp_path / "data"))
    path, marker = strangers_file(tmp_path)
    first = make_window(qtbot, tmp_path)
    assert first.session.open_file(path)
    first.document.mark_modified()
    first.session.autosave.write_now()
    second = make_window(qtbot, tmp_path / "second")
    found = [r for r in second.session.recoveries() if r.original == str(path)]
    assert len(found) == 1
    assert second.session.restore(found[0])
    assert not second.document.trusted
    qtbot.waitUntil(lambda: second.trust.bar.isVisible())
    assert second.runner.grants == Grants() and not marker.exists()
