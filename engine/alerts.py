"""Workflow alerts: thresholds on a run's metrics, checked live and against the history.

A workflow's top-level `"alerts"` list (carried in `Workflow.extra`, so the file format keeps it
as written) holds entries `{"metric", "node" (optional), "over", "window"}`:

    duration_s         the run (or `node`) took longer than `over` seconds     live
    cpu_percent        this process and its children used more than `over` %   live
    rss_mb             their resident memory passed `over` MiB                 live
    failure_rate       failed runs (or runs where `node` failed) among the     after the run
                       last `window` runs, as a fraction 0..1, over `over`
    node_duration_p95  the 95th percentile of `node`'s (every node's, without  after the run
                       `node`) duration over the last `window` runs

`AlertWatcher` is the live observer: it follows a run's events and samples psutil in
`sample()`, a coroutine the host runs beside `run.execute()` in one TaskGroup (`watched()`);
psutil reads go through `asyncio.to_thread`. `history_alerts` checks the others once the run is
in the history. Each alert fires at most once per run; a firing is an `AlertFired` event handed
to the watcher's listeners (after the run has ended for the history metrics, so it is not put
into the run's own event stream, which ends with RunFinished).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from engine import events as ev
from engine.errors import Problem

if TYPE_CHECKING:  # pragma: no cover - typing only
    from engine.executor import Run
    from engine.history.store import HistoryStore
    from engine.model import Workflow

log = logging.getLogger(__name__)
T = TypeVar("T")

LIVE = ("duration_s", "cpu_percent", "rss_mb")
AFTER = ("failure_rate", "node_duration_p95")
METRICS = LIVE + AFTER
PER_NODE = ("duration_s", "failure_rate", "node_duration_p95")
DEFAULT_WINDOW = 20
MAX_WINDOW = 10_000
SAMPLE_EVERY_S = 0.2
UNITS = {"duration_s": " s", "cpu_percent": " %", "rss_mb": " MiB", "failure_rate": "",
         "node_duration_p95": " s"}


@dataclass(frozen=True)
class Alert:
    """One alert rule of a workflow: a metric, the level it must not pass, over how many runs."""

    metric: str
    over: float
    node: str | None = None
    window: int = DEFAULT_WINDOW

    def describe(self) -> str:
        where = f" of node '{self.node}'" if self.node else ""
        return f"{self.metric}{where} over {self.over:g}{UNITS[self.metric]}"


def _entry_problem(index: int, raw: Any, node_ids: set[str]) -> str | None:
    where = f"alert #{index + 1}"
    if not isinstance(raw, dict):
        return f"{where} must be an object like {{\"metric\": \"duration_s\", \"over\": 60}}"
    metric = raw.get("metric")
    if metric not in METRICS:
        return (f"{where} has an unknown metric {metric!r:.40}; use one of "
                f"{', '.join(METRICS)}")
    over = raw.get("over")
    if isinstance(over, bool) or not isinstance(over, (int, float)) or not math.isfinite(over) \
            or over < 0:
        return f"{where} ({metric}) needs \"over\": a number of at least 0, got {over!r:.40}"
    node = raw.get("node")
    if node is not None:
        if metric not in PER_NODE:
            return f"{where} ({metric}) is measured for the whole run; it takes no \"node\""
        if not isinstance(node, str) or node not in node_ids:
            return f"{where} ({metric}) names node {node!r:.40}, which is not in the workflow"
    window = raw.get("window", DEFAULT_WINDOW)
    if isinstance(window, bool) or not isinstance(window, int) or not 1 <= window <= MAX_WINDOW:
        return (f"{where} ({metric}) needs \"window\": a whole number of runs from 1 to "
                f"{MAX_WINDOW}, got {window!r:.40}")
    return None


def alert_problems(workflow: Workflow) -> list[Problem]:
    """One sentence per alert entry that cannot be used (validate calls this)."""
    raw = workflow.extra.get("alerts")
    if raw is None:
        return []
    if not isinstance(raw, list):
        return [Problem('"alerts" must be a list of {"metric", "over", "node", "window"}')]
    node_ids = set(workflow.nodes)
    return [Problem(text) for i, entry in enumerate(raw)
            if (text := _entry_problem(i, entry, node_ids)) is not None]


def read_alerts(workflow: Workflow) -> list[Alert]:
    """The usable alert entries (those alert_problems does not complain about)."""
    raw = workflow.extra.get("alerts")
    if not isinstance(raw, list):
        return []
    node_ids = set(workflow.nodes)
    return [Alert(e["metric"], float(e["over"]), e.get("node"), int(e.get("window",
                                                                          DEFAULT_WINDOW)))
            for i, e in enumerate(raw) if _entry_problem(i, e, node_ids) is None]


def _fired(run_id: str, alert: Alert, value: float, what: str) -> ev.AlertFired:
    unit = UNITS[alert.metric]
    window = alert.window if alert.metric in AFTER else None
    message = (f"alert: {what} was {value:.4g}{unit}, over {alert.over:g}{unit}"
               + (f" (last {alert.window} runs)" if window else ""))
    return ev.AlertFired(run_id, alert.metric, alert.node, round(value, 4), alert.over, window,
                         message, time.monotonic())


# --- live ---------------------------------------------------------------------------------
class AlertWatcher:
    """Follows one run and fires its live alerts; also collects the after-run ones."""

    def __init__(self, run: Run, alerts: list[Alert],
                 sample: Callable[[], tuple[float, float]] | None = None) -> None:
        self.run = run
        self.alerts = alerts
        self.live = [a for a in alerts if a.metric in LIVE]
        self.fired: list[ev.AlertFired] = []
        self._listeners: list[Callable[[ev.AlertFired], None]] = []
        self._done: set[Alert] = set()
        self._t0: float | None = None
        self._node_started: dict[tuple[str, tuple[int, ...]], float] = {}
        self._sample = sample  # made on the first sample that needs it
        self._unsubscribe = run.subscribe(self._on_event) if self.live else None

    def subscribe(self, listener: Callable[[ev.AlertFired], None]) -> None:
        self._listeners.append(listener)

    def fire(self, event: ev.AlertFired) -> None:
        self.fired.append(event)
        log.info("%s", event.message)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a listener's bug must never stop the run
                log.exception("alert listener %r failed", listener)

    def check(self, alert: Alert, value: float, what: str) -> None:
        if alert not in self._done and value > alert.over:
            self._done.add(alert)
            self.fire(_fired(self.run.run_id, alert, value, what))

    def _on_event(self, event: Any) -> None:
        if isinstance(event, ev.RunStarted):
            self._t0 = event.t
        elif isinstance(event, ev.NodeStarted):
            self._node_started[(event.node_id, event.iteration)] = event.t
        elif isinstance(event, (ev.NodeFinished, ev.NodeFailed)):
            self._node_started.pop((event.node_id, event.iteration), None)
            for alert in self.live:
                if alert.metric == "duration_s" and alert.node == event.node_id:
                    self.check(alert, event.duration_s, f"node '{event.node_id}' duration")
        elif isinstance(event, ev.RunFinished):
            for alert in self.live:
                if alert.metric == "duration_s" and alert.node is None:
                    self.check(alert, event.duration_s, "the run's duration")

    async def sample(self) -> None:
        """Check the live metrics every SAMPLE_EVERY_S until cancelled."""
        if not self.live:
            return
        needs_process = any(a.metric in ("cpu_percent", "rss_mb") for a in self.live)
        if needs_process and self._sample is None:
            self._sample = ProcessSampler().sample
        while True:
            await asyncio.sleep(SAMPLE_EVERY_S)
            now = time.monotonic()
            for alert in self.live:
                if alert.metric != "duration_s":
                    continue
                if alert.node is None and self._t0 is not None:
                    self.check(alert, now - self._t0, "the run's duration")
                elif alert.node is not None:
                    for (node_id, _it), start in list(self._node_started.items()):
                        if node_id == alert.node:
                            self.check(alert, now - start, f"node '{node_id}' duration")
            if needs_process and self._sample is not None:
                cpu, rss = await asyncio.to_thread(self._sample)
                for alert in self.live:
                    if alert.metric == "cpu_percent":
                        self.check(alert, cpu, "CPU use")
                    elif alert.metric == "rss_mb":
                        self.check(alert, rss, "resident memory")

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None


class ProcessSampler:
    """CPU % (since the last sample) and resident MiB of this process and its children."""

    def __init__(self) -> None:
        import psutil  # a dependency; imported here so `import engine` stays light

        self._psutil = psutil
        self._me = psutil.Process()
        self._known: dict[int, Any] = {}
        self._me.cpu_percent(None)

    def sample(self) -> tuple[float, float]:
        psutil = self._psutil
        procs = [self._me]
        try:
            procs += self._me.children(recursive=True)
        except psutil.Error:
            pass
        cpu = rss = 0.0
        for proc in procs:
            known = self._known.setdefault(proc.pid, proc) if proc is not self._me else proc
            try:
                cpu += known.cpu_percent(None)
                rss += known.memory_info().rss / (1024 * 1024)
            except psutil.Error:
                self._known.pop(proc.pid, None)
        return cpu, rss


async def watched(watcher: AlertWatcher, work: Awaitable[T]) -> T:
    """Await `work` (the run) with the watcher's sampler beside it in one TaskGroup."""
    async with asyncio.TaskGroup() as group:
        sampler = group.create_task(watcher.sample())
        try:
            return await work
        finally:
            sampler.cancel()


# --- after the run, against the history ---------------------------------------------------
def history_alerts(store: HistoryStore, workflow_path: str, watcher: AlertWatcher) -> None:
    """Check failure_rate and node_duration_p95 over the last runs (this one included: call it
    once the run is recorded); fires through the watcher."""
    for alert, value, what in evaluate_history(store, workflow_path, watcher.alerts):
        watcher.check(alert, value, what)


def evaluate_history(store: HistoryStore, workflow_path: str, alerts: list[Alert]
                     ) -> list[tuple[Alert, float, str]]:
    """(alert, measured value, what was measured) for each history alert with data; only
    reads the database, so a host may call it off its loop and fire on it afterwards."""
    from engine.history.analytics import percentile
    from engine.history.queries import list_runs

    after = [a for a in alerts if a.metric in AFTER]
    if not after or not workflow_path:
        return []
    runs = list_runs(store, workflow=workflow_path, limit=max(a.window for a in after))
    found: list[tuple[Alert, float, str]] = []
    for alert in after:
        recent = runs[:alert.window]
        if not recent:
            continue
        if alert.metric == "failure_rate":
            if alert.node is None:
                failed = sum(r.status == "failed" for r in recent)
                what = f"the failure rate of the last {len(recent)} runs"
            else:
                failed = sum(any(n.node_id == alert.node and n.status == "failed"
                                 for n in r.nodes) for r in recent)
                what = f"node '{alert.node}' failure rate"
            found.append((alert, failed / len(recent), what))
            continue
        durations: dict[str, list[float]] = {}
        for r in recent:
            for n in r.nodes:
                if n.duration_s is not None and (alert.node is None or n.node_id == alert.node):
                    durations.setdefault(n.node_id, []).append(n.duration_s)
        worst = max(((percentile(v, 95), k) for k, v in durations.items()), default=None)
        if worst is not None:
            found.append((alert, worst[0], f"node '{worst[1]}' p95 duration"))
    return found
