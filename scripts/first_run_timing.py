#!/usr/bin/env python3
"""Times a newcomer's first minutes in the real editor window under Xvfb, driven by xdotool.

Needs: Xvfb, xdotool (apt-get install -y xvfb xdotool), this checkout's .venv.
Usage:  .venv/bin/python scripts/first_run_timing.py [--runs 3]

Each round starts the editor as on a first start (fresh settings, history and documents in a
temporary HOME), then, with real key and mouse events:
  1. window   launch -> the main window is mapped
  2. run      F5 on Hello Flowloom, Enter in the Run inputs dialog -> the run is recorded as
              succeeded in the history database (polled)
  3. built    Ctrl+N, double-click the canvas and type "Value" Enter, Fit (F), double-click to
              the right and type "Output" Enter, drag from Value's output to Output's input,
              F5 -> that run is recorded as succeeded
Where the nodes and ports land on screen is worked out first by doing the same steps in an
offscreen copy of the window (same fonts, same size), so the drag hits the real ports.
Prints seconds since launch per round and the medians, as JSON on the last line.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = str(ROOT / ".venv" / "bin" / "python")
SIZE = (1400, 860)  # the window's default size
DISPLAY = ":77"

GEOMETRY = r'''
import json, os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
sys.path.insert(0, sys.argv[1])
from PySide6.QtCore import QPoint, QPointF, QSettings
from PySide6.QtWidgets import QApplication
app = QApplication([])
from builder.mainwindow import MainWindow
from nodes import default_registry
w = MainWindow(default_registry(), QSettings(sys.argv[2], QSettings.Format.IniFormat),
               recover=False)
w.resize(1400, 860); w.show(); app.processEvents()
c = w.canvas
vp = c.viewport()
def screen(scene):  # window-relative pixel of a scene point
    return list(vp.mapTo(w, c.mapFromScene(scene)).toTuple())
first = vp.rect().center() - QPoint(200, 0)
a = c.add_node_at("data.value", c.mapToScene(first)); app.processEvents()
c.fit_all(); app.processEvents()
second = c.mapFromScene(c.node_item(a).sceneBoundingRect().center()) + QPoint(260, 0)
second_win = list(vp.mapTo(w, second).toTuple())
b = c.add_node_at("flow.output", c.mapToScene(second)); app.processEvents()
c.fit_all(); app.processEvents()
print(json.dumps({"first": list(vp.mapTo(w, first).toTuple()), "second": second_win,
                  "out": screen(c.node_item(a).port_pos("out", "out")),
                  "in": screen(c.node_item(b).port_pos("in", "in"))}))
'''


def sh(*args: str, env: dict | None = None, check: bool = True) -> str:
    return subprocess.run(args, env=env, check=check, capture_output=True, text=True).stdout


def succeeded_runs(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return conn.execute("select count(*) from runs where status='succeeded'"
                                ).fetchone()[0]
    except sqlite3.Error:
        return 0


def wait(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.05)


def one_round(env: dict, home: Path, geometry: dict) -> dict[str, float]:
    db = home / "history.db"
    env = dict(env, HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
               FLOWLOOM_HISTORY_DB=str(db), FLOWLOOM_DATA_DIR=str(home / "data"),
               FLOWLOOM_DOCUMENTS_DIR=str(home / "Documents"))
    x = lambda *a: sh("xdotool", *a, env=env)  # noqa: E731
    t0 = time.monotonic()
    app = subprocess.Popen([PY, "-m", "builder"], env=env, cwd=str(home),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wid = x("search", "--sync", "--onlyvisible", "--name", "Flowloom").split()[0]
        t_window = time.monotonic() - t0
        wait(lambda: "Hello Flowloom" in x("getwindowname", wid), 60, "Hello Flowloom")
        origin = [int(v) for v in x("getwindowgeometry", "--shell", wid).replace(
            "=", " ").split()[3:6:2]]
        x("windowfocus", "--sync", wid)
        x("key", "F5")
        dialog = x("search", "--sync", "--onlyvisible", "--name", "Run inputs").split()[0]
        x("windowfocus", "--sync", dialog)
        x("key", "Return")
        wait(lambda: succeeded_runs(db) >= 1, 60, "the first run")
        t_run = time.monotonic() - t0

        def at(point: list[int]) -> list[str]:
            return [str(origin[0] + point[0]), str(origin[1] + point[1])]

        x("windowfocus", "--sync", wid)
        x("key", "ctrl+n")
        wait(lambda: "Hello" not in x("getwindowname", wid), 10, "the new workflow")
        for point, name in ((geometry["first"], "Value"), (geometry["second"], "Output")):
            x("mousemove", "--sync", *at(point))
            x("click", "--repeat", "2", "--delay", "80", "1")
            time.sleep(0.4)  # the quick-add popup opens on the double-click (no event to wait on)
            x("type", "--delay", "20", name)
            x("key", "Return")
            time.sleep(0.2)
            x("key", "f")  # Fit: the offscreen copy did the same, so the ports are where it says
            time.sleep(0.2)
        x("mousemove", "--sync", *at(geometry["out"]))
        x("mousedown", "1")
        for step in range(1, 9):
            px = geometry["out"][0] + (geometry["in"][0] - geometry["out"][0]) * step // 8
            py = geometry["out"][1] + (geometry["in"][1] - geometry["out"][1]) * step // 8
            x("mousemove", "--sync", *at([px, py]))
        x("mouseup", "1")
        x("key", "F5")
        wait(lambda: succeeded_runs(db) >= 2, 60, "the self-built workflow's run")
        t_built = time.monotonic() - t0
    finally:
        app.terminate()
        try:
            app.wait(10)
        except subprocess.TimeoutExpired:
            app.kill()
    return {"window_s": round(t_window, 2), "first_run_s": round(t_run, 2),
            "self_built_s": round(t_built, 2)}


def main() -> int:
    runs = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 3
    for tool in ("Xvfb", "xdotool"):
        if shutil.which(tool) is None:
            print(f"{tool} is missing: apt-get install -y xvfb xdotool", file=sys.stderr)
            return 2
    work = Path(tempfile.mkdtemp(prefix="flowloom-timing-"))
    geometry = json.loads(sh(PY, "-c", GEOMETRY, str(ROOT), str(work / "geometry.ini"))
                          .strip().splitlines()[-1])
    xvfb = subprocess.Popen(["Xvfb", DISPLAY, "-screen", "0", "1600x1000x24", "-nolisten",
                             "tcp"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env = dict(os.environ, DISPLAY=DISPLAY, QT_QPA_PLATFORM="xcb",
               PYTHONPATH=str(ROOT))
    results = []
    try:
        wait(lambda: Path(f"/tmp/.X11-unix/X{DISPLAY[1:]}").exists(), 10, "Xvfb")
        for n in range(runs):
            home = work / f"home{n}"
            home.mkdir()
            result = one_round(env, home, geometry)
            print(f"round {n + 1}: {result}")
            results.append(result)
    finally:
        xvfb.terminate()
        shutil.rmtree(work, ignore_errors=True)
    medians = {k: statistics.median(r[k] for r in results) for k in results[0]}
    print(json.dumps({"rounds": results, "median": medians}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
