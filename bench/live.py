"""Live-run benchmark: how late the editor's event loop gets while a 1 000-node run is shown.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/live.py            # about 15 s
    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/live.py --quick    # smaller, one run

A precise QTimer fires every 5 ms and records its lateness (time since the previous tick minus
5 ms). First with the editor idle (the baseline), then while the editor's own run path runs a
1 000-node workflow with events on: MainWindow.run_workflow -> RunController -> engine Run ->
RunBridge (coalesced batches) -> canvas overlay, run panels, status bar and history recording,
all on the one qasync loop. The workflow is 100 layers of 10 nodes (8 `data.expression`, 2
`util.delay` of 10 ms per layer, each node reading its neighbour in the layer before), drawn on
the canvas. Reports p50/p99/max lateness for both, in one process. Floor: p99 during the run
< 30 ms (exit code 1 otherwise).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_TMP = tempfile.mkdtemp(prefix="flowloom-bench-live-")
os.environ["FLOWLOOM_HISTORY_DB"] = os.path.join(_TMP, "history.db")
os.environ["FLOWLOOM_DATA_DIR"] = os.path.join(_TMP, "data")
os.environ["FLOWLOOM_CONFIG_DIR"] = os.path.join(_TMP, "config")

import qasync  # noqa: E402
from PySide6.QtCore import QSettings, Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from engine.model import Edge, Node, Workflow  # noqa: E402

TICK_MS = 5
FLOOR_P99_MS = 30.0


def layered(layers: int, width: int = 10, delay_s: float = 0.01) -> Workflow:
    nodes: list[Node] = []
    edges: list[Edge] = []
    for layer in range(layers):
        for i in range(width):
            nid = f"n{layer}_{i}"
            pos = (layer * 220.0, i * 110.0)
            if layer == 0:
                nodes.append(Node(nid, "data.value", "", {"value": i}, pos))
            elif i < 2:
                nodes.append(Node(nid, "util.delay", "", {"seconds": delay_s}, pos))
                edges.append(Edge(f"n{layer - 1}_{i}", "out", nid, "in"))
            else:
                nodes.append(Node(nid, "data.expression", "", {"expr": "x + 1"}, pos))
                edges.append(Edge(f"n{layer - 1}_{i}", "out", nid, "x"))
    return Workflow(name="Live benchmark", nodes=nodes, edges=edges)


class Ticker:
    """A 5 ms precise timer recording how late each tick came."""

    def __init__(self) -> None:
        self.late_ms: list[float] = []
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)
        self._last = 0.0

    def start(self) -> None:
        self.late_ms = []
        self._last = time.perf_counter()
        self.timer.start()

    def stop(self) -> list[float]:
        self.timer.stop()
        return self.late_ms

    def _tick(self) -> None:
        now = time.perf_counter()
        self.late_ms.append(max(0.0, (now - self._last) * 1000.0 - TICK_MS))
        self._last = now


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def line(name: str, late: list[float]) -> str:
    return (f"{name:<22} ticks {len(late):>5}   p50 {statistics.median(late):6.2f} ms   "
            f"p99 {pct(late, 0.99):6.2f} ms   max {max(late):7.2f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="30 layers, one run")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    layers, runs = (30, 1) if args.quick else (100, args.runs)

    app = QApplication.instance() or QApplication(sys.argv[:1])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    from builder.mainwindow import MainWindow
    from nodes import default_registry

    settings = QSettings(os.path.join(_TMP, "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(default_registry(), settings=settings, recover=False,
                        theme_mode="dark")
    workflow = window.document.workflow
    for node in layered(layers).nodes.values():
        workflow.add_node(node)
    for edge in layered(layers).edges:
        workflow.add_edge(edge)
    window.resize(1600, 1000)
    window.show()
    window.canvas.fit_all()
    ticker = Ticker()

    async def idle(seconds: float) -> list[float]:
        ticker.start()
        await asyncio.sleep(seconds)
        return ticker.stop()

    async def one_run() -> tuple[list[float], float, int]:
        batches0 = window.run_view.bridge.batches
        ticker.start()
        t0 = time.perf_counter()
        if not window.run_workflow():
            raise SystemExit(f"the run did not start: {window.statusBar().currentMessage()}")
        result = await window.runner.task
        elapsed = time.perf_counter() - t0
        late = ticker.stop()
        if result is None or result.status != "succeeded":
            raise SystemExit(f"the run did not succeed: {result and result.error}")
        return late, elapsed, window.run_view.bridge.batches - batches0

    with loop:
        loop.run_until_complete(asyncio.sleep(0.3))  # let the window settle
        idle_late: list[float] = []
        run_late: list[float] = []
        durations, batches = [], []
        for _ in range(runs):
            idle_late += loop.run_until_complete(idle(1.0))
            late, elapsed, count = loop.run_until_complete(one_run())
            run_late += late
            durations.append(elapsed)
            batches.append(count)
            loop.run_until_complete(asyncio.sleep(0.2))
        nodes = len(workflow.nodes)
        print(f"workflow: {nodes} nodes, {len(workflow.edges)} edges; {runs} run(s) of "
              f"{statistics.median(durations):.2f} s median; "
              f"{statistics.median(batches):.0f} UI batches per run "
              f"({statistics.median(batches) / statistics.median(durations):.0f}/s)")
        print(line("idle editor", idle_late))
        print(line("during the run", run_late))
        p99 = pct(run_late, 0.99)
        verdict = "OK" if p99 < FLOOR_P99_MS else "TOO SLOW"
        print(f"floor: p99 during the run < {FLOOR_P99_MS:.0f} ms: {verdict}")
        window.hide()
    return 0 if p99 < FLOOR_P99_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
