"""Grab the editor paused at a breakpoint (the third foreach item), in one theme (not a test).

Under Xvfb, with FLOWLOOM_DATA_DIR, FLOWLOOM_HISTORY_DB and FLOWLOOM_CONFIG_DIR set to a
scratch folder:
    DISPLAY=:99 QT_QPA_PLATFORM=xcb .venv/bin/python -m tests.breakpoints.screenshot \\
        dark|light OUT.png WORKDIR
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

import qasync
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from builder.mainwindow import MainWindow
from engine.breakpoints import Breakpoint, with_breakpoints
from tests.breakpoints.support import until


async def shoot(app: QApplication, theme: str, out: Path, work: Path) -> None:
    path = work / "foreach.loom.json"
    shutil.copy(Path(__file__).resolve().parents[2] / "resources" / "examples"
                / "foreach.loom.json", path)
    settings = QSettings(str(work / f"settings-{theme}.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings, recover=False, theme_mode=theme)
    assert window.session.open_file(path)
    window.resize(1280, 800)
    window.show()
    wf = window.document.workflow
    wf.set_meta(extra=with_breakpoints(wf.extra, [
        Breakpoint(node="square", condition="index == 2"),
        Breakpoint(wire=("each", "results", "sum", "x"))]))
    window.run_view.ask_inputs = lambda _parent, declared: declared
    views = window.run_view.breakpoints
    window.run_workflow()
    await until(lambda: bool(views.waiting), timeout=20)
    window.canvas.fit_all()
    window.canvas.zoom_in()
    window.canvas.zoom_in()
    window.canvas.center_on_node("square")
    for _ in range(20):  # let the window lay out and paint
        app.processEvents()
        await asyncio.sleep(0.02)
    window.grab().save(str(out))
    print("saved", out, "-", views.waiting[0][0].title)
    window.stop_workflow()
    await until(lambda: not window.runner.running, timeout=10)


def main() -> None:
    theme, out, work = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    app = QApplication(sys.argv[:1])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        loop.run_until_complete(shoot(app, theme, out, work))


if __name__ == "__main__":
    main()
