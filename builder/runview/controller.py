"""Runs started from the editor: compile a snapshot, execute it on the qasync loop, record it.

`RunController.start(...)` copies the workflow (edits made while it runs do not reach it),
compiles the copy off the loop, makes an engine `Run` with the editor's services (credentials,
the approvals object, the file's folder), hands it to the `RunBridge` (coalesced events for the
overlay, panels and status bar), attaches a `HistoryRecorder` and executes it as one task on
the loop. `stop()` cancels the run (or, while compiling, keeps it from starting); open approval
questions are withdrawn. `rerun_from=node_id` re-runs from that node: the last run's
fingerprints (taken when it started) and cacheable outputs (kept when it ended) decide which
upstream nodes replay their outputs instead of running (engine/rerun.py).
It keeps `window.runner`'s old surface: `task`, `running`, `result`, `lines`, `status`,
`running_changed`, `finished`.

The compiler (networkx), the executor and the history (sqlmodel, SQLAlchemy, pydantic: about a
second) are imported when the first run starts or the history is first asked for, not when the
window is built: the editor's first frame needs none of them.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from builder.bridge import RunBridge
from builder.runview.approvals import Approvals
from builder.runview.handover import QuickHandover
from builder.runview.prepared import Prepared, prepare
from builder.runview.status import StatusLines
from engine.context import Services
from engine.errors import CompileError, FlowloomError
from engine.model import Workflow
from engine.runfold import RunFold
from engine.runstate import RunResult
from engine.slots import HOST_SLOTS_KEY

if TYPE_CHECKING:  # pragma: no cover - typing only; imported where a run needs them
    from engine.alerts import AlertWatcher
    from engine.compile import Compiled
    from engine.executor import Run
    from engine.history import HistoryRecorder, HistoryStore
    from engine.permissions import Grants

log = logging.getLogger(__name__)


@dataclass
class LastRun:
    """What the editor keeps of its latest run (for re-run and the inspector)."""

    source: Workflow  # the document's workflow it ran (not the snapshot)
    compiled: Compiled
    fingerprints: dict[str, str]
    inputs: dict[str, Any]
    run: Run
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)  # cacheable, at the end
    result: RunResult | None = None


class RunController(QObject):
    status = Signal(str)
    running_changed = Signal(bool)
    started = Signal(object, str)  # compiled, run id
    finished = Signal(object)  # RunResult (None if the run crashed)
    alert_fired = Signal(object)  # engine.events.AlertFired (the workflow's "alerts")
    folded = Signal(list, object)  # a batch of events, the set of node ids whose state changed

    def __init__(self, parent: QObject | None = None,
                 history: Callable[[], HistoryStore | None] | None = None) -> None:
        super().__init__(parent)
        self.bridge = RunBridge(self)
        self.fold = RunFold()  # the live run's per-node state: the bridge's only consumer
        self.approvals = Approvals(self)
        self.history = history or open_history
        self.store: HistoryStore | None = None
        self.run: Run | None = None
        self.task: asyncio.Future[Any] | None = None
        self.result: RunResult | None = None
        self.last: LastRun | None = None
        self.reused: dict[str, dict[str, Any]] = {}  # what the current run replays
        self.recorder: HistoryRecorder | None = None
        self.shown: Workflow | None = None  # the document on screen (see forget)
        # the open document's fingerprints and content hash, kept while it does not change
        self.prepared = Prepared()
        self._status = StatusLines()
        self._collector = FullCollectionsWait()
        self._handover = QuickHandover()  # the GIL back to the loop quickly while live
        self._stopping = False
        self._recording: Any = None
        # What runs may touch (engine/permissions.py); None: everything. builder/trust_banner.py
        # sets it for a file from elsewhere.
        self.grants: Grants | None = None
        # App-wide limits on LLM server hosts (builder/host_limits.py), one object for every run
        self.host_slots: Any = None
        # The run's execution seam, made per run (builder/runview/cluster_settings.py); None:
        # every node here
        self.seam: Callable[[], Any] | None = None
        self.bridge.events.connect(self._on_events)

    @property
    def lines(self) -> list[str]:
        return self._status.lines

    @property
    def last_line(self) -> str | None:
        """The newest of `lines` (without wording every line before it)."""
        return self._status.last

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def history_store(self) -> HistoryStore | None:
        if self.store is None:
            self.store = self.history()
        return self.store

    def preload(self) -> None:
        """Import what a run needs (compiler, executor, history) now, while the editor is idle,
        so that the first run does not start with a second of imports on the loop."""
        for name in ("engine.compile", "engine.executor", "engine.rerun", "engine.history"):
            importlib.import_module(name)

    # --- start / stop ---------------------------------------------------------------------
    def start(self, workflow: Workflow, registry: Any, base_dir: Path | None = None,
              secrets: Callable[[str], str | None] | None = None, *,
              inputs: dict[str, Any] | None = None, rerun_from: str | None = None,
              path: Path | None = None, text: str = "", recording: Any = None,
              snapshot: Workflow | None = None) -> str | None:
        """Start a run; returns why it cannot start, or None when it started.

        Only the copy is made here; compiling a big workflow takes tens of ms, so it happens
        off the loop in the run's task (a compile error then ends the run with a status line).
        """
        if self.running:
            return "A run is already in progress."
        if rerun_from is not None and rerun_from not in workflow.nodes:
            return f"Cannot re-run: there is no node {rerun_from!r}."
        # a run record (builder/run_record.py; a replay or reuse brings its own), and the
        # workflow to run when it is not `workflow` itself (a replay runs the recorded version)
        if recording is None:
            from builder.run_record import EditorRecording

            recording = EditorRecording()
        self._recording = recording
        self._collector.hold()  # (released when the run's task ends, see _launch)
        self._handover.hold()
        # the generation of `workflow` the snapshot is a copy of (None: a snapshot given)
        generation = self.prepared.follow(workflow) if snapshot is None else None
        snapshot = workflow.copy() if snapshot is None else snapshot
        last = self.last
        replay = last if rerun_from is not None and last is not None \
            and last.source is workflow else None
        if replay is not None and inputs is None:
            inputs = dict(replay.inputs)
        self.result = None
        self.run = None
        self._status.reset(snapshot)
        self.task = asyncio.ensure_future(self._launch(
            workflow, snapshot, registry,
            Services(secrets=secrets, approver=self.approvals, base_dir=base_dir,
                     grants=self.grants,
                     extra={} if self.host_slots is None else {HOST_SLOTS_KEY: self.host_slots}),
            inputs, rerun_from if replay is not None else None, replay, path, text,
            generation))
        self.running_changed.emit(True)
        return None

    async def _launch(self, workflow: Workflow, snapshot: Workflow, registry: Any,
                      services: Services, inputs: dict[str, Any] | None,
                      rerun_from: str | None, replay: LastRun | None, path: Path | None,
                      text: str, generation: int | None = None) -> RunResult | None:
        try:
            return await self._launch_held(workflow, snapshot, registry, services, inputs,
                                           rerun_from, replay, path, text, generation)
        finally:
            self._collector.release()
            self._handover.release()

    async def _launch_held(self, workflow: Workflow, snapshot: Workflow, registry: Any,
                           services: Services, inputs: dict[str, Any] | None,
                           rerun_from: str | None, replay: LastRun | None, path: Path | None,
                           text: str, generation: int | None = None) -> RunResult | None:
        from engine.compile import compile_workflow
        from engine.executor import Run
        from engine.rerun import plan_rerun

        try:
            compiled = await asyncio.to_thread(compile_workflow, snapshot, registry)
            reuse: dict[str, dict[str, Any]] = {}
            if rerun_from is not None and replay is not None:
                reuse = plan_rerun(compiled, rerun_from, replay.outputs, replay.fingerprints)
            reuse = getattr(self._recording, "reuse", None) or reuse
            run = Run(compiled, inputs, services=self._recording.services(services),
                      reuse=reuse, seam=self.seam() if self.seam is not None else None)
            self._recording.attach(run)
            # (the loop gets a turn between making the run and showing it: each is tens of
            # ms for 1 000 nodes, and the run does not start before _execute)
            await asyncio.sleep(0)
        except CompileError as exc:
            errors = [p for p in exc.problems if p.is_error]
            return self._not_started(f"Cannot run: {errors[0] if errors else exc}")
        except FlowloomError as exc:
            return self._not_started(f"Cannot run: {exc}")
        except Exception as exc:  # an engine bug must not take the editor down
            log.exception("compiling %s crashed", snapshot.name or "the workflow")
            return self._not_started(f"Cannot run: {type(exc).__name__}: {exc}")
        if self._stopping:
            return self._not_started("Run cancelled")
        self.reused = reuse
        self.run = run
        self.last = LastRun(workflow, compiled, {}, dict(run.inputs), run)
        self.fold.reset(snapshot)
        # (gc.freeze() here cut ~100 ms collector stalls during big runs, but objects frozen
        # across a run were later freed in an order that crashed PySide's wrappers — a
        # segfault in a later test's garbage collection. Not worth it: removed. Instead the
        # full passes wait until the run has ended: FullCollectionsWait.)
        self.bridge.attach(run)
        self.started.emit(compiled, run.run_id)
        return await self._execute(run, snapshot, path, text, workflow, generation)

    def _not_started(self, why: str) -> None:
        self._stopping = False
        self._say(why)
        self.running_changed.emit(False)
        self.finished.emit(None)
        return None

    def stop(self) -> None:
        if self.running and self.run is None:  # still compiling: it will not start
            self._stopping = True
        elif self.run is not None and self.running:
            self._say("Stopping…")
            self.run.cancel()
            self.approvals.withdraw_all()

    def _record(self, run: Run, path: Path | None, text: str) -> HistoryRecorder | None:
        store = self.history_store()
        if store is None:
            return None
        from engine.history import HistoryRecorder

        try:
            return HistoryRecorder(store, path, text).attach(run)
        except Exception as exc:  # history is a record, never a reason not to run
            log.warning("run %s is not recorded in history: %s", run.run_id, exc)
            return None

    async def _execute(self, run: Run, snapshot: Workflow, path: Path | None,
                       text: str, workflow: Workflow | None = None,
                       generation: int | None = None) -> RunResult | None:
        from engine.alerts import AlertWatcher, read_alerts, watched

        recorder: HistoryRecorder | None = None
        source: str | None = None  # the snapshot's canonical text, for the run's record
        watcher = AlertWatcher(run, read_alerts(snapshot))
        watcher.subscribe(self.alert_fired.emit)
        try:
            prints, text, source = await self._prepare(snapshot, text, workflow, generation)
            if self.last is not None and self.last.run is run:
                self.last.fingerprints = prints
            recorder = self.recorder = self._record(run, path, text)
            result: RunResult | None = await watched(watcher, run.execute())
        except Exception as exc:  # an engine bug must not take the editor down
            log.exception("run %s crashed", run.run_id)
            self._say(f"Run crashed: {type(exc).__name__}: {exc}")
            result = None
        finally:
            if recorder is not None:
                try:
                    await recorder.aclose()
                except Exception as exc:
                    log.warning("history of run %s not fully written: %s", run.run_id, exc)
                if self.store is not None:  # its record, after the history row it belongs to
                    await asyncio.to_thread(self._recording.finish, run, self.store,
                                            source)
        watcher.close()
        if recorder is not None and watcher.alerts:
            await self._history_alerts(watcher, path)
        self.result = result
        last = self.last
        if last is not None and last.run is run and result is not None:
            from engine.rerun import cacheable_outputs

            last.result = result
            last.outputs = cacheable_outputs(last.compiled, result)
        self.bridge.finish(result)
        self.running_changed.emit(False)
        self.finished.emit(result)
        return result

    async def _prepare(self, snapshot: Workflow, text: str, workflow: Workflow | None,
                       generation: int | None) -> tuple[dict[str, str], str, str | None]:
        """The run's fingerprints, the file text or content hash for its history row, and the
        snapshot's canonical text for its record (None: the record renders it).

        Kept from an earlier run or worked out ahead (builder/runview/prepared.py) while the
        document has not changed since; else worked out off the loop — tens of ms for a big
        workflow — from the snapshot, this run's own copy that nothing else touches."""
        if text:  # (the caller's text: the recorder hashes it, as it always did)
            from engine.rerun import fingerprints

            return await asyncio.to_thread(fingerprints, snapshot), text, None
        kept = self.prepared.get(workflow, generation) \
            if workflow is not None and generation is not None else None
        if kept is None:
            kept = await asyncio.to_thread(prepare, snapshot)
            if workflow is not None and generation is not None:
                self.prepared.keep(workflow, generation, kept)
        else:  # the loop's turn the thread gave it: showing the run and starting it stay two
            await asyncio.sleep(0)  # steps (together, 60-100 ms of the loop in one)
        prints, source, digest = kept
        return prints, digest, source

    async def _history_alerts(self, watcher: AlertWatcher, path: Path | None) -> None:
        """The after-run alerts (read off the loop, fired on it), then record them all."""
        from engine.alerts import evaluate_history
        from engine.history.alerts import record_alerts

        store = self.store
        if store is None:
            return
        key = str(path) if path is not None else ""
        try:
            found = await asyncio.to_thread(evaluate_history, store, key, watcher.alerts)
            for alert, value, what in found:
                watcher.check(alert, value, what)
            await asyncio.to_thread(record_alerts, store, watcher.run.run_id, path,
                                    watcher.fired)
        except Exception as exc:  # alerts are a record, never a reason to fail the run
            log.warning("alerts of run %s not checked or recorded: %s", watcher.run.run_id,
                        exc)

    # --- events ---------------------------------------------------------------------------
    def _on_events(self, batch: list[Any]) -> None:
        """The bridge's batches: folded once, then every view is told what changed."""
        changed = self.fold.feed(batch)
        text = self._status.feed(batch, self.fold)
        self.folded.emit(batch, changed)
        if text:
            self.status.emit(text)

    def _say(self, text: str) -> None:
        self._status.say(text)
        self.status.emit(text)

    def forget(self, workflow: Workflow) -> None:
        """Another document is open: the last run's state (Last run, re-run cache) is not
        its own. A run still going is left to finish; only what is shown is dropped."""
        self.shown = workflow
        last = self.last
        if last is not None and last.source is not workflow and not self.running:
            self.last = None
            self.result = None
            self.reused = {}

    # --- what the inspector shows -----------------------------------------------------------
    def node_record(self, node_id: str) -> dict[str, Any] | None:
        """The selected node's last run: status, inputs, outputs, error/reason and log."""
        last = self.last
        if last is None or node_id not in last.run.state:
            return None
        if self.shown is not None and last.source is not self.shown:
            return None  # a run of another document (still going after New/Open)
        nr = last.run.state[node_id]
        shown = self.fold.nodes.get(node_id)
        return {"status": nr.status, "inputs": nr.inputs, "outputs": nr.outputs,
                "error": nr.error, "reason": nr.reason, "duration_s": nr.duration_s,
                "queued_s": nr.queued_s, "attempt_durations_s": nr.attempt_durations_s,
                "cached": nr.cached, "log": list(shown.log) if shown is not None else []}


class FullCollectionsWait:
    """While a run is live, the cyclic collector's full (generation 2) passes wait.

    A full pass walks every object the editor made since start-up (`builder.app` freezes the
    heap once it is warm; what came after — history panels, the runs since — is walked):
    60-80 ms on the loop in the middle of a 1 000-node run, on a loaded machine. The young
    generations are still collected; the thresholds are put back when the run ends, and the
    full pass then comes at the collector's next turn, while nothing is being watched."""

    NEVER = 2**30  # generation-1 passes before a full one: not within a run

    def __init__(self) -> None:
        self.saved: tuple[int, int, int] | None = None

    def hold(self) -> None:
        if self.saved is None:
            self.saved = gc.get_threshold()
            gc.set_threshold(self.saved[0], self.saved[1], self.NEVER)

    def release(self) -> None:
        if self.saved is not None:
            gc.set_threshold(*self.saved)
            self.saved = None


def open_history() -> HistoryStore | None:
    """The history DB ($FLOWLOOM_HISTORY_DB or the user data folder), or None if unusable."""
    try:
        from engine.history import HistoryStore

        return HistoryStore.open()
    except Exception as exc:
        log.warning("run history is off: %s", exc)
        return None
