"""What the timeline draws, folded from run events: one bar per node execution (a node inside a
loop runs once per iteration, so it gets one bar per iteration), and the critical path.

Qt-free so it can be tested and reused (live runs and replays feed it the same events).

Bars: a bar opens at the first `NodeStarted` of (node id, iteration) and closes at its
`NodeFinished` / `NodeFailed` / `NodeCancelled`; retries stay on the same bar. A running bar's end
is "now" (the caller's clock, in the events' time base). Skipped nodes never executed: no bar.
Rows: one row per bar, in the order the bars opened.

Critical path: the chain of finished executions, linked by the workflow's edges, whose summed
durations are the largest. An edge links a source execution to a target execution when the
source's loop path is a prefix of (or equal to) the target's. Back edges (into a loop's
`result`/`next`) and the edges from a loop node into its own body are left out: a loop's bar
already spans its body, so the body is not a step after the loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine import events as ev
from engine.loops import LOOP_PORTS as _LOOP_PORTS


@dataclass(slots=True)
class Bar:
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


class TimelineModel:
    """Bars of one run. `reset(compiled)`, then `feed(batch)` as events arrive."""

    def __init__(self) -> None:
        self.compiled: Any = None
        self.t0: float | None = None
        self.bars: list[Bar] = []
        self.finished_at: float | None = None  # seconds since start, once the run ended
        self.version = 0  # bumped on every change (the view redraws when it moved)
        self._open: dict[tuple[str, tuple[int, ...]], Bar] = {}
        self._critical: list[Bar] | None = None

    def reset(self, compiled: Any) -> None:
        self.__init__()  # type: ignore[misc]
        self.compiled = compiled

    @property
    def running(self) -> bool:
        return self.t0 is not None and self.finished_at is None

    def rel(self, t: float) -> float:
        """An event time as seconds since the run started."""
        return t - (self.t0 if self.t0 is not None else t)

    def feed(self, batch: list[Any]) -> None:
        for event in batch:
            if self.t0 is None:
                self.t0 = event.t
            if isinstance(event, ev.RunStarted):
                self.t0 = event.t
            elif isinstance(event, ev.NodeStarted):
                self._started(event)
            elif isinstance(event, ev.NodeRetrying):
                bar = self._open.get((event.node_id, event.iteration))
                if bar is not None:
                    bar.status = "retrying"
            elif isinstance(event, (ev.NodeFinished, ev.NodeFailed, ev.NodeCancelled)):
                self._ended(event)
            elif isinstance(event, ev.RunFinished):
                self.finished_at = self.rel(event.t)
                for bar in self._open.values():  # nothing runs after the run ended
                    bar.end, bar.status = self.finished_at, "cancelled"
                self._open.clear()
            else:
                continue
            self.version += 1
            self._critical = None

    def _started(self, event: ev.NodeStarted) -> None:
        key = (event.node_id, event.iteration)
        bar = self._open.get(key)
        if bar is not None:  # a retry: same bar, one more attempt
            bar.attempts, bar.status = event.attempt, "running"
            return
        bar = Bar(event.node_id, event.iteration, len(self.bars), self.rel(event.t), None,
                  attempts=max(event.attempt, 1), cached=event.attempt == 0)
        self.bars.append(bar)
        self._open[key] = bar

    def _ended(self, event: Any) -> None:
        bar = self._open.pop((event.node_id, event.iteration), None)
        if bar is None:  # cancelled before it started, say: nothing executed
            return
        bar.end = max(self.rel(event.t), bar.start)
        if isinstance(event, ev.NodeFinished):
            bar.status, bar.cached = "succeeded", bar.cached or event.cached
        elif isinstance(event, ev.NodeFailed):
            bar.status = "failed"
        else:
            bar.status = "cancelled"

    # --- critical path ------------------------------------------------------------------
    def critical_path(self) -> list[Bar]:
        """The longest chain of finished executions by summed duration (see module doc)."""
        if self._critical is None:
            self._critical = self._longest_chain()
        return self._critical

    def _dependencies(self) -> dict[str, set[str]]:
        """node id -> the node ids it waits for (back edges and loop->body edges left out)."""
        deps: dict[str, set[str]] = {}
        compiled = self.compiled
        if compiled is None:
            return deps
        kinds = {nid: pn.kind for nid, pn in compiled.nodes.items()}
        for edge in compiled.workflow.edges:
            src_ports = _LOOP_PORTS.get(kinds.get(edge.source, ""))
            dst_ports = _LOOP_PORTS.get(kinds.get(edge.target, ""))
            if src_ports and edge.source_port == src_ports[0]:
                continue
            if dst_ports and edge.target_port == dst_ports[1]:
                continue
            deps.setdefault(edge.target, set()).add(edge.source)
        return deps

    def _longest_chain(self) -> list[Bar]:
        done = [b for b in self.bars if b.end is not None and b.status in ("succeeded", "failed")]
        done.sort(key=lambda b: (b.start, b.end))
        deps = self._dependencies()
        # a value reaches an execution from the same iteration or from an enclosing scope
        # (a body never feeds outwards), so candidates are looked up by iteration prefix
        by_key: dict[tuple[str, tuple[int, ...]], list[Bar]] = {}
        best: dict[int, tuple[float, Bar | None]] = {}  # id(bar) -> (chain length, previous)
        for bar in done:
            top, prev = 0.0, None
            prefixes = [bar.iteration[:n] for n in range(len(bar.iteration) + 1)]
            for source in deps.get(bar.node_id, ()):
                for prefix in prefixes:
                    for cand in by_key.get((source, prefix), ()):
                        if cand.end > bar.start + 1e-9:  # type: ignore[operator]
                            continue
                        length = best[id(cand)][0]
                        if prev is None or length > top:
                            top, prev = length, cand
            best[id(bar)] = (top + bar.length(0.0), prev)
            by_key.setdefault((bar.node_id, bar.iteration), []).append(bar)
        if not best:
            return []
        last = max(done, key=lambda b: best[id(b)][0])
        chain: list[Bar] = []
        node: Bar | None = last
        while node is not None:
            chain.append(node)
            node = best[id(node)][1]
        return chain[::-1]
