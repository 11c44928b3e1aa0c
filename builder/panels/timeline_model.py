"""What the timeline draws, read from the run's fold: one bar per node execution (a node inside a
loop runs once per iteration, so it gets one bar per iteration), and the critical path.

Qt-free so it can be tested and reused. The bars themselves are folded once, with the rest of the
run's state, by `engine.runfold.RunFold`; this model reads them and adds the critical path.

Bars: a bar opens at the first `NodeStarted` of (node id, iteration) and closes at its
`NodeFinished` / `NodeFailed` / `NodeCancelled`; retries stay on the same bar. A running bar's end
is "now" (the caller's clock, in the events' time base). Skipped nodes never executed: no bar.
Rows: one row per bar, in the order the bars opened.

Critical path: the chain of finished executions, linked by the workflow's edges, whose summed
durations are the largest. An edge links a source execution to a target execution when the
source's loop path is a prefix of (or equal to) the target's. Back edges (into a loop's
`result`/`next`) and the edges from a loop node into its own body are left out: a loop's bar
already spans its body, so the body is not a step after the loop. The pass over the bars is
carried forward while the run goes on (`advance`, at the timeline's redraws), so the run's end
pays only for its last bars; it gives the whole pass's answer (tests/builder/
test_critical_path_live.py), and the whole pass is taken whenever that cannot be shown.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from engine.loops import LOOP_PORTS as _LOOP_PORTS
from engine.runfold import Bar, RunFold

__all__ = ["Bar", "TimelineModel"]



def chain_step(bar: Bar, deps: dict[str, Any], by_key: dict[tuple[str, tuple[int, ...]], list[Bar]],
               best: dict[int, tuple[float, Bar | None]]) -> None:
    """One ended bar's step of the critical path: the longest chain ending at it (its length
    and the bar before it, into `best`), from the bars it depends on that ended before it began.
    A value reaches an execution from the same iteration or from an enclosing scope (a body
    never feeds outwards), so candidates are looked up by iteration prefix."""
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

class TimelineModel:
    """Bars of one run, read from its `engine.runfold.RunFold` (`fold.bars`).

    `reset(compiled, fold)` shows `fold` (the run view's; None: a fold of the model's own,
    which `feed(batch)` then feeds, for a panel used on its own)."""

    def __init__(self) -> None:
        self.compiled: Any = None
        self.fold = RunFold()
        self._own = True
        self._critical: list[Bar] | None = None
        self._critical_at = -1

    def reset(self, compiled: Any, fold: RunFold | None = None) -> None:
        self.compiled = compiled
        self._own = fold is None
        if fold is None:
            fold = RunFold()
            fold.reset(compiled.workflow if compiled is not None else None)
        self.fold = fold
        self._critical, self._critical_at = None, -1
        self._chain: _Chain | None = None

    def feed(self, batch: list[Any]) -> None:
        if self._own:
            self.fold.feed(batch)

    @property
    def bars(self) -> list[Bar]:
        return self.fold.bars

    @property
    def t0(self) -> float | None:
        return self.fold.t0

    @property
    def finished_at(self) -> float | None:
        return self.fold.finished_at

    @property
    def version(self) -> int:
        return self.fold.version

    @property
    def running(self) -> bool:
        return self.fold.running

    def rel(self, t: float) -> float:
        """An event time as seconds since the run started."""
        return self.fold.rel(t)

    # --- critical path ------------------------------------------------------------------
    def critical_path(self) -> list[Bar]:
        """The longest chain of finished executions by summed duration (see module doc)."""
        if self._critical is None or self._critical_at != self.fold.version:
            chain = self.advance() if self.fold.finished_at is not None else None
            found = chain.result() if chain is not None else None
            self._critical = found if found is not None else self._longest_chain()
            self._critical_at = self.fold.version
        return self._critical

    def advance(self, budget_s: float | None = None) -> _Chain:
        """Carry the critical path's pass forward over the bars that ended (the timeline calls
        it at its redraws while the run goes on), so that at the end only the last bars are
        left to it: the whole pass took 15-50 ms of the loop at a 1 000-node run's end. With
        `budget_s`, a live redraw steps through at most that long (hundreds of bars that end
        at once — a burst of quick nodes — are passed over a few redraws, not in one); once
        the run has ended the pass always goes to the end."""
        chain = getattr(self, "_chain", None)
        if chain is None or chain.bars is not self.fold.bars:
            chain = self._chain = _Chain(self.fold.bars, self._dependencies())
        finished = self.fold.finished_at is not None
        chain.advance(finished, None if finished else budget_s)
        return chain

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
        by_key: dict[tuple[str, tuple[int, ...]], list[Bar]] = {}
        best: dict[int, tuple[float, Bar | None]] = {}  # id(bar) -> (chain length, previous)
        for bar in done:
            chain_step(bar, deps, by_key, best)
        if not best:
            return []
        last = max(done, key=lambda b: best[id(b)][0])
        chain: list[Bar] = []
        node: Bar | None = last
        while node is not None:
            chain.append(node)
            node = best[id(node)][1]
        return chain[::-1]


class _Chain:
    """`_longest_chain`'s pass over the bars in (start, end) order, carried forward a chunk at
    a time: a chunk is the ended bars that start before every bar still running and before
    the newest bar (a bar opened later starts no earlier), so no bar can come before them in
    that order any more, and a chunk's bars all start before the next chunk's. `result()` is
    the path once every bar was passed, or None — and the caller does the whole pass — if a
    passed bar changed since or a bar started before a chunk already passed (then the order
    of the pass would not be the whole pass's)."""

    def __init__(self, bars: list[Bar], deps: dict[str, set[str]]) -> None:
        self.bars, self.deps = bars, deps
        self.cursor = 0  # bars[:cursor] are passed
        self.frontier = float("-inf")  # every bar passed started before this
        self.valid = True
        self.seen: list[tuple[Bar, float, float | None, str]] = []
        self.by_key: dict[tuple[str, tuple[int, ...]], list[Bar]] = {}
        self.best: dict[int, tuple[float, Bar | None]] = {}
        self.last: Bar | None = None  # the first bar of greatest chain length, in order
        self.finished = False
        # the chunks' bars taken but not stepped through yet, in the pass's order (a chunk's
        # bars sorted, chunks in turn: each chunk's bars start before the next chunk's)
        self.backlog: deque[Bar] = deque()

    def advance(self, finished: bool, budget_s: float | None = None) -> None:
        bars, i = self.bars, self.cursor
        n = len(bars)
        j = i
        while j < n and bars[j].end is not None:
            j += 1
        if j < n:
            frontier = bars[j].start
        else:
            frontier = float("inf") if finished else (bars[-1].start if bars else self.frontier)
        k = i
        while k < j and bars[k].start < frontier:
            k += 1
        if k != i:
            chunk = bars[i:k]
            self.cursor = k
            for bar in chunk:
                if bar.start < self.frontier:
                    self.valid = False
                self.seen.append((bar, bar.start, bar.end, bar.status))
            self.frontier = max(self.frontier, frontier)
            done = [b for b in chunk if b.status in ("succeeded", "failed")]
            done.sort(key=lambda b: (b.start, b.end))
            self.backlog.extend(done)
        self._step(budget_s)
        self.finished = finished and k == n and not self.backlog

    def _step(self, budget_s: float | None) -> None:
        """Step through the backlog (the loop of _longest_chain), for at most `budget_s`."""
        backlog, deps, by_key, best = self.backlog, self.deps, self.by_key, self.best
        until = None if budget_s is None else time.perf_counter() + budget_s
        count = 0
        while backlog:
            bar = backlog.popleft()
            chain_step(bar, deps, by_key, best)
            if self.last is None or best[id(bar)][0] > best[id(self.last)][0]:
                self.last = bar
            count += 1
            if until is not None and not count % 16 and time.perf_counter() > until:
                break

    def result(self) -> list[Bar] | None:
        if not self.finished or not self.valid or self.cursor != len(self.bars) \
                or any((bar.start, bar.end, bar.status) != (start, end, status)
                       for bar, start, end, status in self.seen):
            return None
        chain: list[Bar] = []
        node = self.last
        while node is not None:
            chain.append(node)
            node = self.best[id(node)][1]
        return chain[::-1]
