#!/usr/bin/env python3
"""Renders docs/screenshots/: the first ten minutes of a newcomer, from the real editor window.

  01-first-start.png   the first start: Hello Flowloom with the welcome card
  02-building.png      a workflow being built: palette search, nodes wired, port names
  03-running.png       a run in progress: one node waiting for approval, Timeline below
  04-light-theme.png   the light theme after a run: canvas, Charts legend, Log
  05-1024x700.png      a 1024x700 window after Fit: titles and port names still read

Usage: .venv/bin/python scripts/newcomer_screenshots.py [OUT_DIR]. Offscreen unless
QT_QPA_PLATFORM says otherwise (QT_QPA_PLATFORM=xcb under Xvfb works too). Settings, history,
recovery files and run outputs go to a temporary folder, never the user's.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
WORK = Path(tempfile.mkdtemp(prefix="flowloom-shots-"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["FLOWLOOM_DATA_DIR"] = str(WORK / "data")
os.environ["FLOWLOOM_HISTORY_DB"] = str(WORK / "history.db")
os.environ["FLOWLOOM_DOCUMENTS_DIR"] = str(WORK / "Documents")

import qasync  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from builder.commands import ConnectPortsCommand  # noqa: E402
from builder.dialogs import Prompts  # noqa: E402
from builder.mainwindow import MainWindow  # noqa: E402
from engine.model import Edge  # noqa: E402
from nodes import default_registry  # noqa: E402

OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots"


def settle(app: QApplication, rounds: int = 6) -> None:
    for _ in range(rounds):
        app.processEvents()


async def until(condition, timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise TimeoutError("the window did not get there in time")
        await asyncio.sleep(0.02)


def window(app: QApplication, name: str, theme: str = "dark",
           size: tuple[int, int] = (1280, 800)) -> MainWindow:
    settings = QSettings(str(WORK / f"{name}.ini"), QSettings.Format.IniFormat)
    prompts = Prompts.default()
    prompts.unsaved = lambda *_a: "discard"
    w = MainWindow(default_registry(), settings, prompts, recover=False, theme_mode=theme)
    w.resize(*size)
    w.show()
    w.run_view.ask_inputs = lambda _parent, declared: dict(declared)  # the defaults
    settle(app)
    return w


def shot(app: QApplication, w: MainWindow, name: str) -> None:
    settle(app)
    OUT.mkdir(parents=True, exist_ok=True)
    w.grab().save(str(OUT / name))
    print(OUT / name)


def raise_dock(w: MainWindow, name: str) -> None:
    dock = w.run_view.panels.dock(name)
    dock.show()
    dock.raise_()


async def main(app: QApplication) -> None:
    # 1. first start
    w = window(app, "first")
    w.offer_first_start()
    settle(app)
    w.canvas.fit_all()
    shot(app, w, "01-first-start.png")
    w.welcome.dismiss()

    # 2. building: a new workflow, three nodes wired, the palette searched
    w.session.new()
    ids = [w.canvas.add_node_at(t, p) for t, p in (
        ("data.value", _p(0, 0)), ("data.expression", _p(260, 0)),
        ("flow.output", _p(520, 0)))]
    stack, wf = w.document.undo_stack, w.document.workflow
    stack.push(ConnectPortsCommand(wf, Edge(ids[0], "out", ids[1], "x"), w.registry))
    w.palette.search.setText("output")
    w.canvas.select_nodes([ids[1]])
    settle(app)
    w.canvas.resetTransform()
    w.canvas.centerOn(_p(260, 40))
    w.problems.check_now()  # the status bar's node count is current in the picture
    shot(app, w, "02-building.png")
    w.palette.search.clear()
    w.close()

    # 3. a run of a gallery template, as it is (its unsaved copy writes to Documents/Flowloom)
    w = window(app, "running")
    from builder.gallery import open_template
    from builder.templates import find_templates

    template = next(t for t in find_templates() if t.slug == "data_pipeline")
    open_template(w.session, template)
    settle(app)
    w.run_workflow()
    await until(lambda: w.runner.task is not None and w.runner.task.done())
    raise_dock(w, "TimelineDock")
    w.canvas.fit_all()
    shot(app, w, "03-running.png")

    # 4. light theme after the run, Charts raised
    w.apply_theme("light")
    raise_dock(w, "ChartsDock")
    shot(app, w, "04-light-theme.png")
    w.close()

    # 5. a 1024x700 window on Hello Flowloom after Fit
    w = window(app, "small", size=(1024, 700))
    w.open_path(ROOT / "resources" / "templates" / "hello.loom.json")
    settle(app)
    w.canvas.fit_all()
    shot(app, w, "05-1024x700.png")
    w.close()


def _p(x: float, y: float):
    from PySide6.QtCore import QPointF

    return QPointF(x, y)


if __name__ == "__main__":
    application = QApplication(sys.argv)
    qasync.run(main(application))
