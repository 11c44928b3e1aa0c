"""Live-run benchmark: how late the editor's event loop gets while a 1 000-node run is shown.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/live.py            # about 30 s
    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/live.py --quick    # smaller, one run

A precise QTimer fires every 5 ms and records its lateness (time since the previous tick minus
5 ms). First with the editor idle (the baseline), then while the editor's own run path runs a
1 000-node workflow with events on: MainWindow.run_workflow -> RunController -> engine Run ->
RunBridge (coalesced batches) -> canvas overlay, run panels, status bar and history recording,
all on the one qasync loop. The workflow is 100 layers of 10 nodes (8 `data.expression`, 2
`util.delay` of 10 ms per layer, each node reading its neighbour in the layer before), drawn on
the canvas, with the Timeline tab in front. The workflow is saved to a file first (so History
and Analytics show its runs) and the history DB already holds `--earlier` runs of it (recorded
headless beforehand, as earlier sessions would have), then the editor runs it `--runs` times in
a row (`--stalls` also samples where the loop thread was whenever a tick is late). Reports
p50/p99/max lateness idle and for each run, in one process. Floor (issue 17): during every run
p99 < 16 ms (one frame at 60 Hz) and max < 100 ms, and every run recorded (exit code 1 if not).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_TMP = tempfile.mkdtemp(prefix="flowloom-bench-live-")
os.environ["FLOWLOOM_HISTORY_DB"] = os.path.join(_TMP, "history.db")
os.environ["FLOWLOOM_DATA_DIR"] = os.path.join(_TMP, "data")
os.environ["FLOWLOOM_CONFIG_DIR"] = os.path.join(_TMP, "config")

import qasync  # noqa: E402
from PySide6.QtCore import QSettings, Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

from engine.model import Edge, Node, Workflow  # noqa: E402

TICK_MS = 5
FLOOR_P99_MS = 16.0
FLOOR_MAX_MS = 100.0


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
        self.frames: Any = None  # `--frames`: a bench/live_frames.FrameLog told of each tick

    def start(self) -> None:
        self.late_ms = []
        self.cpu_ms: list[float] = []  # the loop thread's CPU time between two ticks
        self._last = time.perf_counter()
        self._last_cpu = time.thread_time()
        self.timer.start()

    def stop(self) -> list[float]:
        self.timer.stop()
        return self.late_ms

    def _tick(self) -> None:
        now = time.perf_counter()
        self.late_ms.append(max(0.0, (now - self._last) * 1000.0 - TICK_MS))
        self._last = now
        cpu = time.thread_time()
        self.cpu_ms.append((cpu - self._last_cpu) * 1000.0)
        self._last_cpu = cpu
        if self.frames is not None:
            self.frames.tick(self.late_ms[-1])


class StallWatch:
    """`--stalls`: a thread that, whenever the ticker has not ticked for `after_ms`, samples
    where the loop thread is (the innermost frames of this project and of pyqtgraph), to say
    what stalls; with `--slots` too, each sample also names the Qt dispatch or asyncio callback
    the loop is in."""

    def __init__(self, ticker: Ticker, after_ms: float = 60.0,
                 slots: SlotTimes | None = None, every_s: float = 0.02) -> None:
        self.ticker, self.after_s, self.slots, self.every_s = ticker, after_ms / 1000.0, \
            slots, every_s
        self.samples: collections.Counter[str] = collections.Counter()
        self.full: list[str] = []
        self.main = threading.main_thread().ident
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(self.every_s):
            if not self.ticker.timer.isActive() \
                    or time.perf_counter() - self.ticker._last < self.after_s:
                continue
            frame = sys._current_frames().get(self.main)
            inner = frame and f"[{Path(frame.f_code.co_filename).stem}.{frame.f_code.co_name}]"
            where = []
            while frame is not None and len(where) < 4:
                name = frame.f_code.co_filename
                if "/builder/" in name or "/engine/" in name or "/nodes/" in name \
                        or "pyqtgraph" in name:
                    where.append(f"{Path(name).stem}.{frame.f_code.co_name}:{frame.f_lineno}")
                frame = frame.f_back
            key = " < ".join([inner or "(in Qt)", *where])
            if inner in ("[__init__.run_forever]", "[live.notify]"):  # in Qt's C++, or
                # waiting for the GIL?
                others = [f"{Path(f.f_code.co_filename).stem}.{f.f_code.co_name}"
                          for ident, f in sys._current_frames().items()
                          if ident not in (self.main, threading.get_ident())]
                key += f"  (other threads: {', '.join(sorted(set(others)))})"
            if self.slots is not None:
                key = f"{self.slots.current or '-'}: {key}"
                if os.environ.get("LIVE_FULL_STACKS") and len(self.full) < 12 \
                        and "paint" in key:
                    import traceback
                    self.full.append(key + "\n" + "".join(traceback.format_stack(
                        sys._current_frames().get(self.main))[-14:]))
            self.samples[key] += 1

    def report(self) -> str:
        self._stop.set()
        ms = self.every_s * 1000
        lines = [f"  {n * ms:6.0f} ms  {where}" for where, n in self.samples.most_common(25)]
        return f"where the loop thread was while ticks were late ({ms:.0f} ms samples):\n" \
            + "\n".join(lines) + "".join("\n---\n" + f for f in self.full)


class SlotTimes:
    """`--slots`: times every outermost Qt event dispatch (receiver class / event type) and
    every asyncio callback on the loop thread, keeping the longest ones, so a stall can be
    named by what the loop ran. It costs a Python call per event: figures in this mode are
    for finding stalls, not for the floor."""

    def __init__(self, keep: int = 25) -> None:
        self.keep = keep
        self.depth = 0
        self.on = False
        self.current = ""  # the outermost dispatch or callback running now
        self.longest: list[tuple[float, str]] = []
        self.longest_cpu: list[tuple[float, str]] = []  # by thread CPU: steadier under load
        self.over_12 = 0  # dispatches of 12 ms of the loop thread's CPU or more
        self.totals: collections.Counter[str] = collections.Counter()
        self.cpu: collections.Counter[str] = collections.Counter()  # thread CPU ms
        self.counts: collections.Counter[str] = collections.Counter()
        self.frames: Any = None  # `--frames`: a bench/live_frames.FrameLog

    def note(self, ms: float, what: str, cpu_ms: float = 0.0) -> None:
        self.totals[what] += ms
        self.cpu[what] += cpu_ms
        self.counts[what] += 1
        if ms >= 4.0:
            self.longest.append((ms, what))
            if len(self.longest) > 4 * self.keep:
                self.longest = sorted(self.longest, reverse=True)[:self.keep]
        if cpu_ms >= 12.0 and not what.startswith("_SimpleTimer"):
            self.over_12 += 1
        if cpu_ms >= 4.0 and not what.startswith("_SimpleTimer"):  # (its callbacks are named)
            self.longest_cpu.append((cpu_ms, what))
            if len(self.longest_cpu) > 4 * self.keep:
                self.longest_cpu = sorted(self.longest_cpu, reverse=True)[:self.keep]

    def wrap_asyncio(self) -> None:
        """Time asyncio handles (qasync runs them inside a Qt timer event: named here)."""
        run = asyncio.events.Handle._run
        watch = self

        def timed(handle: asyncio.events.Handle) -> None:
            if not watch.on:
                return run(handle)
            cb = handle._callback
            owner = getattr(cb, "__self__", None)
            where = _resumes_at(owner.get_coro()) if owner is not None \
                and hasattr(owner, "get_coro") else ""
            t, c = time.perf_counter(), time.thread_time()
            outer = watch.current
            try:
                watch.current = f"asyncio {getattr(cb, '__qualname__', '?')}"
                return run(handle)
            finally:
                watch.current = outer
                name = getattr(cb, "__qualname__", None) or type(cb).__name__
                if owner is not None and hasattr(owner, "get_coro"):  # a task step
                    coro = owner.get_coro()
                    name = f"task {getattr(coro, '__qualname__', coro)}{where}"
                watch.note((time.perf_counter() - t) * 1000.0, f"asyncio {name}",
                           (time.thread_time() - c) * 1000.0)
                if watch.frames is not None:
                    watch.frames.add(watch.depth, f"asyncio {name}",
                                     (time.thread_time() - c) * 1000.0)

        asyncio.events.Handle._run = timed  # type: ignore[method-assign]

    def report(self) -> str:
        longest = sorted(self.longest, reverse=True)[:self.keep]
        lines = [f"  {ms:7.1f} ms  {what}" for ms, what in longest]
        top = [f"  {self.totals[w]:8.1f} ms wall {self.cpu[w]:8.1f} ms CPU in "
               f"{self.counts[w]:5d}x  {w}" for w, _ in self.cpu.most_common(30)]
        by_cpu = [f"  {ms:7.1f} ms  {what}"
                  for ms, what in sorted(self.longest_cpu, reverse=True)[:self.keep]]
        return ("longest single dispatches on the loop thread during the runs:\n"
                + "\n".join(lines) + "\nlongest by the loop thread's CPU (asyncio callbacks "
                f"named, not the timer event around them; {self.over_12} of 12 ms or more):\n"
                + "\n".join(by_cpu)
                + "\nmost loop-thread CPU in total (asyncio callbacks run "
                "inside _SimpleTimer events: counted in both):\n" + "\n".join(top))


def _resumes_at(coro: Any) -> str:
    """Where a task's step resumes: the innermost coroutine frame of this project it waits in
    (" @ controller._execute:270"), so the steps of one long task are told apart."""
    found = ""
    while coro is not None:
        frame = getattr(coro, "cr_frame", None)
        if frame is None:
            break
        name = frame.f_code.co_filename
        if "/builder/" in name or "/engine/" in name:
            found = f" @ {Path(name).stem}.{frame.f_code.co_name}:{frame.f_lineno}"
        coro = getattr(coro, "cr_await", None)
    return found


def timed_app(slots: SlotTimes) -> QApplication:
    class TimedApp(QApplication):
        def notify(self, receiver: Any, event: Any) -> bool:  # noqa: N802 - Qt override
            if not slots.on:
                return super().notify(receiver, event)
            name = f"{type(receiver).__name__}({receiver.objectName()}) {event.type().name}"
            if slots.frames is not None and type(receiver) in (QWidget, QTimer):  # a view's
                # viewport, a timer: named after their parent
                name = f"{type(receiver.parent()).__name__}.{type(receiver).__name__} " \
                    f"{event.type().name}"
            outer = slots.current
            slots.current = f"{outer} > {name}" if outer else name
            slots.depth += 1
            t, c = time.perf_counter(), time.thread_time()
            try:
                return super().notify(receiver, event)
            finally:
                slots.depth -= 1
                slots.current = outer
                if slots.frames is not None:
                    slots.frames.add(slots.depth, name, (time.thread_time() - c) * 1000.0)
                if not slots.depth:
                    slots.note((time.perf_counter() - t) * 1000.0, name,
                               (time.thread_time() - c) * 1000.0)

    return TimedApp(sys.argv[:1])


class GcWatch:
    """Pauses of the cyclic garbage collector while it is on (gc.callbacks), per generation."""

    def __init__(self) -> None:
        self.pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self._t = 0.0
        self.on = False
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if not self.on:
            return
        if phase == "start":
            self._t = time.perf_counter()
        else:
            self.pauses[info["generation"]].append((time.perf_counter() - self._t) * 1000.0)

    def report(self) -> str:
        return "garbage collector during the runs: " + ", ".join(
            f"gen{g} {len(p)}x (max {max(p, default=0.0):.1f} ms)"
            for g, p in self.pauses.items())


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def line(name: str, late: list[float]) -> str:
    return (f"{name:<22} ticks {len(late):>5}   p50 {statistics.median(late):6.2f} ms   "
            f"p99 {pct(late, 0.99):6.2f} ms   max {max(late):7.2f} ms")


def prefill_history(workflow: Workflow, path: Path, runs: int) -> None:
    """Record `runs` headless runs of `workflow` (saved at `path`) in the history DB."""
    from engine.compile import compile_workflow
    from engine.executor import Run
    from engine.history import HistoryRecorder, HistoryStore
    from nodes import default_registry

    registry = default_registry()
    store = HistoryStore.open()
    text = path.read_text(encoding="utf-8")

    async def one() -> None:
        run = Run(compile_workflow(workflow, registry))
        recorder = HistoryRecorder(store, path, text).attach(run)
        await run.execute()
        await recorder.aclose()

    for _ in range(runs):
        asyncio.run(one())
    store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="30 layers, one run")
    parser.add_argument("--runs", type=int, default=3, help="runs in a row (default 3)")
    parser.add_argument("--earlier", type=int, default=5,
                        help="runs recorded in the history before the editor opens (default 5)")
    parser.add_argument("--stalls", action="store_true",
                        help="also say where the loop thread was while ticks were late")
    parser.add_argument("--slots", action="store_true",
                        help="also time every Qt event dispatch and asyncio callback "
                             "(slower; names the longest stalls)")
    parser.add_argument("--tick-cpu", action="store_true",
                        help="also the loop thread's CPU time between two ticks (p99/max per "
                             "run: what the loop itself did, steadier than lateness on a "
                             "shared machine)")
    parser.add_argument("--frames", action="store_true",
                        help="with --slots: what each late tick's wait was made of "
                             "(bench/live_frames.py)")
    parser.add_argument("--profile", metavar="FILE",
                        help="also write a cProfile of the loop thread during the runs")
    args = parser.parse_args()
    layers, runs, earlier = (30, 1, 1) if args.quick else (100, args.runs, args.earlier)

    from engine.fileformat import save

    path = Path(_TMP) / "live.loom.json"
    save(layered(layers), path)
    prefill_history(layered(layers), path, earlier)

    slots = SlotTimes() if args.slots else None
    if slots is not None:
        slots.wrap_asyncio()
    app = QApplication.instance() or (timed_app(slots) if slots is not None
                                      else QApplication(sys.argv[:1]))
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    from builder.mainwindow import MainWindow
    from nodes import default_registry

    settings = QSettings(os.path.join(_TMP, "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(default_registry(), settings=settings, recover=False,
                        theme_mode="dark")
    from builder.app import freeze_heap

    window.run_view.warmed_up.connect(freeze_heap)  # as builder.app.main does
    if not window.session.open_file(str(path)):
        raise SystemExit(f"could not open {path}")
    workflow = window.document.workflow
    window.resize(1600, 1000)
    window.show()
    window.canvas.fit_all()
    # A person watching a run watches the timeline: its tab is the one in front (the others'
    # redraws wait until they are shown).
    window.run_view.panels.dock("TimelineDock").raise_()
    ticker = Ticker()
    if args.frames and slots is not None:
        from live_frames import FrameLog

        ticker.frames = slots.frames = FrameLog()
    watch = StallWatch(ticker, slots=slots, after_ms=15 if slots else 60,
                       every_s=0.005 if slots else 0.02) if args.stalls else None
    collector = GcWatch()

    async def idle(seconds: float) -> list[float]:
        ticker.start()
        await asyncio.sleep(seconds)
        return ticker.stop()

    loop_cpu: list[float] = []  # CPU seconds of the loop thread per run (steadier than wall)

    tick_cpu: list[list[float]] = []

    async def one_run() -> tuple[list[float], float, int]:
        batches0 = window.run_view.bridge.batches
        ticker.start()
        t0 = time.perf_counter()
        cpu0 = time.thread_time()
        if not window.run_workflow():
            raise SystemExit(f"the run did not start: {window.statusBar().currentMessage()}")
        result = await window.runner.task
        elapsed = time.perf_counter() - t0
        loop_cpu.append(time.thread_time() - cpu0)
        late = ticker.stop()
        tick_cpu.append(ticker.cpu_ms)
        if result is None or result.status != "succeeded":
            raise SystemExit(f"the run did not succeed: {result and result.error}")
        return late, elapsed, window.run_view.bridge.batches - batches0

    with loop:
        async def settle() -> None:  # the window's first frame, then its warm-up (panels,
            deadline = time.perf_counter() + 60  # history, compiler) as a person would wait
            while not window.run_view.warmed and time.perf_counter() < deadline:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)

        loop.run_until_complete(settle())
        idle_late = loop.run_until_complete(idle(1.0))
        per_run: list[list[float]] = []
        durations, batches = [], []
        collector.on = True
        profile = None
        if args.profile:
            import cProfile

            profile = cProfile.Profile()
            profile.enable()
        if slots is not None:
            slots.on = True
        for _ in range(runs):  # in a row: each starts as soon as the one before has ended
            late, elapsed, count = loop.run_until_complete(one_run())
            per_run.append(late)
            durations.append(elapsed)
            batches.append(count)
        collector.on = False
        if profile is not None:
            profile.disable()
            profile.dump_stats(args.profile)
        if slots is not None:
            slots.on = False
        recorded = recorded_runs(window, path)
        nodes = len(workflow.nodes)
        print(f"workflow: {nodes} nodes, {len(workflow.edges)} edges; history held {earlier} "
              f"earlier run(s); {runs} run(s) in a row of "
              f"{statistics.median(durations):.2f} s median; "
              f"{statistics.median(batches):.0f} UI batches per run "
              f"({statistics.median(batches) / statistics.median(durations):.0f}/s); "
              f"{recorded} runs of it recorded in the history now")
        print(line("idle editor", idle_late))
        for i, late in enumerate(per_run, 1):
            print(line(f"during run {i}", late) + f"   loop CPU {loop_cpu[i - 1]:.2f} s")
            if args.tick_cpu:
                cpu = tick_cpu[i - 1]
                print(f"  loop CPU between ticks: p50 {statistics.median(cpu):5.2f} ms   p99 "
                      f"{pct(cpu, 0.99):6.2f} ms   max {max(cpu):6.2f} ms   "
                      f"ticks over 8 ms: {sum(c > 8 for c in cpu)}")
        worst_p99 = max(pct(late, 0.99) for late in per_run)
        worst_max = max(max(late) for late in per_run)
        complete = recorded == earlier + runs
        ok = worst_p99 < FLOOR_P99_MS and worst_max < FLOOR_MAX_MS and complete
        verdict = "OK" if ok else "TOO SLOW" if complete else "HISTORY INCOMPLETE"
        print(f"floor: every run p99 < {FLOOR_P99_MS:.0f} ms and max < {FLOOR_MAX_MS:.0f} ms, "
              f"every run recorded (worst p99 {worst_p99:.1f} ms, worst max "
              f"{worst_max:.1f} ms): {verdict}")
        print(collector.report())
        if watch is not None:
            print(watch.report())
        if slots is not None:
            print(slots.report())
        if ticker.frames is not None:
            print(ticker.frames.report())
        window.hide()
    return 0 if ok else 1


def recorded_runs(window: object, path: Path) -> int:
    """Finished runs of `path` in the editor's history store, each with every node recorded."""
    from engine.history import list_runs

    runs = list_runs(window.runner.history_store(), workflow=str(path), limit=None)
    nodes = set(window.document.workflow.nodes)
    return sum(1 for r in runs
               if r.status == "succeeded" and {n.node_id for n in r.nodes} == nodes)


if __name__ == "__main__":
    raise SystemExit(main())
