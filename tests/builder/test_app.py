"""`builder.app.main`: screenshot mode writes a PNG of the whole window; bad files fail cleanly."""

from __future__ import annotations

import os
import subprocess
import sys

from PySide6.QtGui import QImage

from builder.app import SCREENSHOT_SIZE, main
from tests.builder.shell_support import EXAMPLES


def distinct_colours(image: QImage, step: int = 23) -> int:
    return len({image.pixel(x, y) for x in range(0, image.width(), step)
                for y in range(0, image.height(), step)})


def test_screenshot_mode_writes_a_png_of_the_whole_window(qapp, tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWLOOM_DATA_DIR", str(tmp_path / "data"))
    out = tmp_path / "shots" / "editor.png"
    assert main(str(EXAMPLES / "hello.loom.json"), str(out)) == 0
    image = QImage(str(out))
    assert not image.isNull()
    ratio = image.width() / SCREENSHOT_SIZE[0]
    assert ratio >= 1 and abs(image.height() - SCREENSHOT_SIZE[1] * ratio) <= 2
    assert out.stat().st_size > 20_000
    assert distinct_colours(image) > 12  # panels, nodes, text: not a blank frame
    # Screenshots leave no recovery files behind.
    assert not list((tmp_path / "data").glob("recovery/*.loom.json"))


def test_screenshot_of_a_file_that_cannot_load_fails_with_the_loaders_message(
        qapp, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FLOWLOOM_DATA_DIR", str(tmp_path / "data"))
    bad = tmp_path / "bad.loom.json"
    bad.write_text("not json", "utf-8")
    out = tmp_path / "never.png"
    assert main(str(bad), str(out)) == 2
    assert not out.exists()
    assert "not valid JSON" in capsys.readouterr().err


def test_the_module_entry_point_renders_offscreen_in_a_fresh_process(tmp_path):
    out = tmp_path / "cli.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", FLOWLOOM_DATA_DIR=str(tmp_path / "d"))
    done = subprocess.run([sys.executable, "-m", "builder.app", str(EXAMPLES / "hello.loom.json"),
                           "--screenshot", str(out)], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert QImage(str(out)).width() >= SCREENSHOT_SIZE[0]
