"""The one fold of a run's events into what its views show: per-node state and executions.

`RunFold.reset(workflow)` starts a run (or a replay) of `workflow`; `feed(batch)` folds a batch of
engine events and returns the ids of the nodes whose state changed. Every view of a run reads
the same fold instead of folding the events itself: the canvas overlay (`nodes`: state,
progress, message, duration, retry, loop counter), the timeline (`bars`: one `Bar` per node
execution), the charts (`counts`, `NodeState.total_s`/`outcome`), the status line and the CLI's
progress (`settles`, `settled`, `NodeState.running`), the inspector's Last run (`NodeState.log`)
and the wire previews (`values`). Qt-free, so the CLI and the editor share it.

The engine's own per-node bookkeeping is `engine.runstate.NodeRun` (the RunResult); this is the
live, view-side picture of the same events, which also holds what only a view needs (the latest
progress message, a loop's "3/10", whether a person is being asked).

Rules: a node's `state` follows its latest execution (`running` while any execution is in
flight); its `outcome` is `failed` once any execution failed, as the RunResult says; a skipped
node stays skipped only if it never ran; `duration_s` is the last execution's, summed over loop
iterations; a bar opens at the first `NodeStarted` of (node id, iteration), retries stay on it,
and it closes at `NodeFinished`/`NodeFailed`/`NodeCancelled` (or `RunFinished`, as cancelled).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine import events as ev

WAITING, RETRYING, PAUSED = "waiting", "retrying", "paused"
LOG_KEEP = 200  # log lines kept per node (the inspector's Last run shows them)


@dataclass(slots=True)
class NodeState:
    """What a run's views show for one node: the latest word of the events about it."""

    state: str = "pending"  # running, retrying, succeeded, failed, skipped, cancelled
    progress: float | None = None
    message: str = ""
    duration_s: float | None = None
    started_t: float | None = None
    attempt: int = 0
    error: str = ""
    reason: str = ""
    iterations: str = ""  # "3/10" for a loop node ("3" for while)
    rule: str = ""  # "all" / "first" for a merge node
    running: int = 0  # executions in flight (several inside a parallel loop)
    cached: bool = False
    waiting: bool = False  # a question to a person is open
    paused: bool = False  # stopped at a breakpoint (Continue / Step / Abort)
    settled: bool = False  # finished, failed, skipped or cancelled at least once
    total_s: float = 0.0  # running time of every finished or failed execution
    outcome: str = ""  # "succeeded" / "failed" once an execution ended ("failed" sticks)
    log: list[tuple[str, str]] = field(default_factory=list)  # (level, message), newest last

    @property
    def shown(self) -> str:
        """The state drawn: `paused` at a breakpoint, `waiting` while a question is open,
        else `state`."""
        if self.state in ("cancelled", "failed"):
            return self.state
        return PAUSED if self.paused else WAITING if self.waiting else self.state

    @property
    def tip(self) -> str:
        """The tooltip over the node: the error, the skip reason or the latest message."""
        return {"failed": self.error, "skipped": self.reason, RETRYING: self.error,
                "cancelled": "cancelled"}.get(self.shown, self.message)


@dataclass(slots=True)
class Bar:
    """One execution of a node (one per loop iteration), as the timeline draws it."""

    node_id: str
    iteration: tuple[int, ...]
    row: int
    start: float  # seconds since the run started
    end: float | None  # None while it runs
    status: str = "running"  # running | retrying | succeeded | failed | cancelled
    attempts: int = 1
    cached: bool = False

    def length(self, now: float) -> float:
        return (self.end if self.end is not None else max(now, self.start)) - self.start


class RunFold:
    """Per-node state, executions and counters of one run, folded from its events."""

    def __init__(self) -> None:
        self.nodes: dict[str, NodeState] = {}
        self.bars: list[Bar] = []
        self.values: dict[tuple[str, str], Any] = {}  # (node, output port) -> last value
        self.counts: list[tuple[float, int, int]] = []  # (t since start, executing, ended)
        self.t0: float | None = None
        self.finished_at: float | None = None  # seconds since start, once the run ended
        self.finished: ev.RunFinished | None = None
        self.settles = 0  # finished / failed / skipped events (loop iterations count)
        self.executing = 0
        self.ended = 0  # finished or failed executions
        self.version = 0  # bumped on every change (views redraw when it moved)
        self.settled_count = 0  # nodes settled at least once
        self.in_flight: dict[str, None] = {}  # nodes with an execution running, in start order
        self._open: dict[tuple[str, tuple[int, ...]], Bar] = {}
        self._handlers = {
            ev.NodeStarted: self._started, ev.NodeProgressed: self._progressed,
            ev.NodeRetrying: self._retrying, ev.NodeFinished: self._finished,
            ev.NodeFailed: self._failed, ev.NodeSkipped: self._skipped,
            ev.NodeCancelled: self._cancelled, ev.LoopIterated: self._iterated,
            ev.NodeLogged: self._logged,
        }

    def reset(self, workflow: Any = None) -> None:
        """A run (or replay) of `workflow` begins: every node pending, nothing executed."""
        self.__init__()  # type: ignore[misc]
        if workflow is None:
            return
        for nid, node in workflow.nodes.items():
            state = NodeState()
            if node.type == "flow.merge":
                state.rule = str(node.params.get("mode", "all"))
            self.nodes[nid] = state

    @property
    def running(self) -> bool:
        return self.t0 is not None and self.finished_at is None

    @property
    def settled(self) -> set[str]:
        return {nid for nid, s in self.nodes.items() if s.settled}

    def _settle(self, s: NodeState, node_id: str) -> None:
        if not s.settled:
            s.settled = True
            self.settled_count += 1
        if not s.running:
            self.in_flight.pop(node_id, None)

    def rel(self, t: float) -> float:
        """An event time as seconds since the run started."""
        return t - (self.t0 if self.t0 is not None else t)

    def set_waiting(self, node_id: str, waiting: bool) -> bool:
        """A node's question to a person is open or answered; True if the node is known."""
        state = self.nodes.get(node_id)
        if state is None:
            return False
        state.waiting = waiting
        self.version += 1
        return True

    def set_paused(self, node_id: str, paused: bool) -> bool:
        """A node stopped at a breakpoint (True) or went on (False); True if it is known."""
        state = self.nodes.get(node_id)
        if state is None:
            return False
        state.paused = paused
        self.version += 1
        return True

    def feed(self, batch: list[Any]) -> set[str]:
        """Fold `batch`; returns the ids of the nodes whose state changed."""
        changed: set[str] = set()
        handlers = self._handlers
        for event in batch:
            if self.t0 is None:
                self.t0 = event.t
            kind = type(event)
            if kind is ev.RunStarted:
                self.t0 = event.t
                continue
            if kind is ev.RunFinished:
                self._run_finished(event)
                continue
            handler = handlers.get(kind)
            if handler is None:
                continue
            state = self.nodes.get(event.node_id)
            if state is None:  # a node added to the document after the run started
                state = self.nodes[event.node_id] = NodeState()
            handler(state, event)
            if kind is not ev.NodeLogged:  # a log line changes nothing drawn on the node
                changed.add(event.node_id)
                self.version += 1
        return changed

    # --- one handler per event ---------------------------------------------------------------
    def _count(self, t: float) -> None:
        self.counts.append((self.rel(t), self.executing, self.ended))

    def _started(self, s: NodeState, e: ev.NodeStarted) -> None:
        key = (e.node_id, e.iteration)
        bar = self._open.get(key)
        if bar is not None:  # a retry: same bar, one more attempt
            bar.attempts, bar.status = e.attempt, "running"
        else:
            bar = Bar(e.node_id, e.iteration, len(self.bars), self.rel(e.t), None,
                      attempts=max(e.attempt, 1), cached=e.attempt == 0)
            self.bars.append(bar)
            self._open[key] = bar
        if e.attempt <= 1:
            self.executing += 1
            self._count(e.t)
        if e.attempt == 0:
            s.cached = True
            return
        s.state, s.attempt, s.started_t = "running", e.attempt, e.t
        if e.attempt == 1:
            s.running += 1
            self.in_flight[e.node_id] = None
        s.error = ""

    def _progressed(self, s: NodeState, e: ev.NodeProgressed) -> None:
        if e.fraction is not None:
            s.progress = e.fraction
        if e.message:
            s.message = e.message

    def _retrying(self, s: NodeState, e: ev.NodeRetrying) -> None:
        s.state, s.attempt, s.error = RETRYING, e.attempt + 1, e.error
        bar = self._open.get((e.node_id, e.iteration))
        if bar is not None:
            bar.status = "retrying"

    def _close(self, e: Any, status: str) -> None:
        bar = self._open.pop((e.node_id, e.iteration), None)
        if bar is not None:  # (cancelled before it started: nothing executed)
            bar.end = max(self.rel(e.t), bar.start)
            bar.status = status
            bar.cached = bar.cached or getattr(e, "cached", False)

    def _ended(self, s: NodeState, e: Any, failed: bool) -> None:
        self.executing = max(self.executing - 1, 0)
        self.ended += 1
        self.settles += 1
        s.total_s += e.duration_s
        if failed or s.outcome != "failed":
            s.outcome = "failed" if failed else "succeeded"
        self._count(e.t)

    def _finished(self, s: NodeState, e: ev.NodeFinished) -> None:
        self._close(e, "succeeded")
        self._ended(s, e, failed=False)
        s.running = max(0, s.running - 1)
        self._settle(s, e.node_id)
        s.waiting = s.paused = False
        s.duration_s = (s.duration_s or 0.0) + e.duration_s if e.iteration else e.duration_s
        s.cached = s.cached or e.cached
        if s.state != "failed":
            s.state = "running" if s.running else "succeeded"
        if s.state == "succeeded":
            s.progress, s.message = None, ""
        for port, value in e.outputs.items():
            self.values[(e.node_id, port)] = value

    def _failed(self, s: NodeState, e: ev.NodeFailed) -> None:
        self._close(e, "failed")
        self._ended(s, e, failed=True)
        s.running = max(0, s.running - 1)
        self._settle(s, e.node_id)
        s.state, s.error, s.duration_s = "failed", e.error, e.duration_s

    def _skipped(self, s: NodeState, e: ev.NodeSkipped) -> None:
        self.settles += 1
        self._settle(s, e.node_id)
        if s.state in ("pending", "skipped"):
            s.state, s.reason = "skipped", e.reason

    def _cancelled(self, s: NodeState, e: ev.NodeCancelled) -> None:
        self._close(e, "cancelled")
        self.executing = max(self.executing - 1, 0)
        self._count(e.t)
        s.state, s.running, s.message, s.waiting, s.paused = "cancelled", 0, "", False, False
        self._settle(s, e.node_id)

    def _iterated(self, s: NodeState, e: ev.LoopIterated) -> None:
        s.iterations = f"{e.index + 1}/{e.total}" if e.total is not None else f"{e.index + 1}"

    def _logged(self, s: NodeState, e: ev.NodeLogged) -> None:
        s.log.append((e.level, e.message))
        if len(s.log) > LOG_KEEP:
            del s.log[:-LOG_KEEP]

    def _run_finished(self, e: ev.RunFinished) -> None:
        self.finished = e
        self.finished_at = self.rel(e.t)
        self.executing = 0
        self.in_flight.clear()
        self._count(e.t)
        for bar in self._open.values():  # nothing runs after the run ended
            bar.end, bar.status = self.finished_at, "cancelled"
        self._open.clear()
        self.version += 1
