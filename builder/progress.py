"""Terminal progress for `flowloom run`: per-node lines, plus a live bar when stderr is a TTY.

`TerminalProgress` is a batched run-event subscriber (no Qt, no asyncio tasks of its own); what it
counts for the live bar (settled and running nodes, loop counters) is read from the run's
`engine.runfold.RunFold`, the same fold the editor's run view reads, and it only decides what to
print. Without the bar the fold is not fed (it was most of this class's cost per node): the 10 %
lines count settled nodes with a set, exactly as the fold's `settled_count` does. On a
terminal it keeps one bar line at the bottom (done/total nodes, elapsed time, the running nodes
and loop counters) and prints finished/failed/skipped/retrying lines above it. Anywhere else it
prints plain lines only, started lines included, so logs read as a story.

With `per_node=False` (`flowloom run --json` without --verbose) stderr stays a bounded summary
however many nodes and loop iterations run: the run's first and last lines, the bar on a
terminal or else a line each time another 10 % of the nodes has settled, and at most
MAX_NOTICES failed/retrying/warning lines (then a count of those not shown).
"""

from __future__ import annotations

import asyncio
import shutil
import time
from typing import Any, TextIO

from engine import events as ev
from engine.model import Workflow
from engine.runfold import RunFold

BAR_WIDTH = 24
MAX_NOTICES = 20  # failure / warning lines shown in summary mode
TICK_S = 0.1  # how often the bar's clock is redrawn while nothing else happens
_SETTLING = (ev.NodeFinished, ev.NodeFailed, ev.NodeSkipped, ev.NodeCancelled)
_SUMMARISED = frozenset((ev.NodeFailed, ev.NodeCancelled, ev.NodeRetrying, ev.NodeLogged,
                         ev.RunFinished, ev.RunStarted))
_COLORS = {"done": "32", "failed": "31", "skipped": "33", "retrying": "35", "cancelled": "31"}


class TerminalProgress:
    """Renders run events on `stream`; call `attach(run)` before executing the run."""

    def __init__(self, stream: TextIO, workflow: Workflow, *, live: bool,
                 color: bool = False, per_node: bool = True) -> None:
        self.stream = stream
        self.per_node = per_node
        self._notices = 0  # summary mode: failure / warning lines so far
        self._tenths = 0  # summary mode, no TTY: how many 10 % lines were printed
        self.workflow = workflow
        self.live = live
        self.color = color
        self.total = len(workflow.nodes)
        self._fold: RunFold | None = None  # made on first use: only the bar reads it
        if live:  # the bar reads it from the first batch: made now, as before
            self._fold = RunFold()
            self._fold.reset(workflow)
        self._settled: set[str] = set()  # without the bar: the nodes settled at least once
        self.t0 = time.monotonic()
        self._bar_shown = False
        self._tick: asyncio.TimerHandle | None = None

    @property
    def fold(self) -> RunFold:
        """The run's fold (RunFold.reset of a 10 000-node workflow costs ~10 ms, so it is made
        when first read: without the bar it never is)."""
        if self._fold is None:
            self._fold = RunFold()
            self._fold.reset(self.workflow)
        return self._fold

    # --- wiring ---------------------------------------------------------------------------
    def attach(self, run: Any) -> None:
        run.subscribe(self.handle_batch, batched=True)

    def start_ticker(self, loop: asyncio.AbstractEventLoop) -> None:
        """Keep the bar's clock moving during long waits (a timer, not a task)."""
        if self.live:
            self._tick = loop.call_later(TICK_S, self._on_tick, loop)

    def stop_ticker(self) -> None:
        if self._tick is not None:
            self._tick.cancel()
            self._tick = None

    def _on_tick(self, loop: asyncio.AbstractEventLoop) -> None:
        self._draw_bar()
        self._tick = loop.call_later(TICK_S, self._on_tick, loop)

    # --- events ---------------------------------------------------------------------------
    def handle_batch(self, batch: list[Any]) -> None:
        if self.live:
            self.fold.feed(batch)  # the bar reads running nodes and loop counters from it
        elif not self.per_node:
            settled = self._settled
            settled.update([e.node_id for e in batch if type(e) in _SETTLING])
        if self.per_node:
            for event in batch:
                self.handle(event)
        else:  # (only the kinds _summarise acts on: most events are started/finished)
            for event in batch:
                if type(event) in _SUMMARISED:
                    self._summarise(event)
        if not self.per_node and not self.live:
            self._tenth_lines()
        if self.live and self._tick is not None:
            self._draw_bar()

    def _summarise(self, event: Any) -> None:
        """Summary mode: print only what stays bounded (the fold counts the rest; a line per
        10 % comes at the end of the batch)."""
        kind = type(event)
        if kind in (ev.NodeFailed, ev.NodeCancelled, ev.NodeRetrying) or (
                kind is ev.NodeLogged and event.level in ("warning", "error")):
            self._notices += 1
            if self._notices <= MAX_NOTICES:
                self.handle(event)
        elif kind is ev.RunFinished:
            if not self.live:
                self._tenth_lines()  # before the run's last line
            hidden = self._notices - MAX_NOTICES
            if hidden > 0:
                self._line(f"({hidden} more failure/warning line{'s' * (hidden != 1)} not "
                           f"shown; --verbose shows every one)")
            self.handle(event)
        elif kind is ev.RunStarted:
            self.handle(event)

    def _tenth_lines(self) -> None:
        if not self.total:
            return
        # once per batch (the fold has counted all of it): the last 10 % step it reached
        settled = len(self._settled)  # (only without the bar)
        tenths = 10 * min(settled, self.total) // self.total
        if tenths > self._tenths:
            self._tenths = tenths
            self._line(f"{tenths * 10} % ({settled}/{self.total} nodes settled)")

    def handle(self, event: Any) -> None:
        if isinstance(event, ev.RunStarted):
            self.t0 = event.t
            self.total = event.node_count
            self._line(f"run {event.workflow or 'workflow'!r}: {event.node_count} nodes")
        elif isinstance(event, ev.NodeStarted):
            if not self.live:
                attempt = f" (attempt {event.attempt})" if event.attempt > 1 else ""
                self._node_line("started", event, attempt, t=event.t)
        elif isinstance(event, ev.NodeFinished):
            shown = f" -> {event.summary}" if event.outputs else ""
            self._node_line("done", event, f" {_ms(event.duration_s)}{shown}")
        elif isinstance(event, ev.NodeFailed):
            tries = f" after {event.attempts} attempts" if event.attempts > 1 else ""
            self._node_line("failed", event, f"{tries}: {event.error}")
        elif isinstance(event, ev.NodeSkipped):
            self._node_line("skipped", event, f": {event.reason}")
        elif isinstance(event, ev.NodeRetrying):
            self._node_line("retrying", event, f": attempt {event.attempt} failed "
                            f"({event.error}); next try in {event.delay_s:.2f} s")
        elif isinstance(event, ev.NodeCancelled):
            self._node_line("cancelled", event, "")
        elif isinstance(event, ev.NodeLogged) and event.level in ("warning", "error"):
            self._node_line(event.level, event, f": {event.message}")
        elif isinstance(event, ev.RunFinished):
            self.stop_ticker()
            self._clear_bar()
            tail = f": {event.error}" if event.error else ""
            self._line(f"run {event.status} in {event.duration_s:.3f} s{tail}", t=event.t)

    # --- output ---------------------------------------------------------------------------
    def _label(self, node_id: str, iteration: tuple[int, ...]) -> str:
        node = self.workflow.nodes.get(node_id)
        label = node.label() if node is not None else node_id
        if iteration:
            label += "[" + ".".join(map(str, iteration)) + "]"
        return label

    def _node_line(self, verb: str, event: Any, tail: str, t: float | None = None) -> None:
        word = f"{verb:<9}"
        if self.color and verb in _COLORS:
            word = f"\x1b[{_COLORS[verb]}m{word}\x1b[0m"
        self._line(f"{word}{self._label(event.node_id, event.iteration)}{tail}",
                   t=event.t if t is None else t)

    def _line(self, text: str, t: float | None = None) -> None:
        stamp = (t if t is not None else time.monotonic()) - self.t0
        self._clear_bar()
        self.stream.write(f"[{stamp:8.3f}s] {text}\n")
        self.stream.flush()

    def _clear_bar(self) -> None:
        if self._bar_shown:
            self.stream.write("\r\x1b[K")
            self._bar_shown = False

    def bar_text(self) -> str:
        """The bar line: done/total, elapsed time, and what is running now."""
        fold = self.fold
        nodes = fold.nodes
        done = min(fold.settled_count - sum(1 for nid in fold.in_flight if nodes[nid].settled),
                   self.total)
        filled = BAR_WIDTH * done // self.total if self.total else BAR_WIDTH
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        names = []
        for nid in fold.in_flight:
            name = self._label(nid, ())
            if nodes[nid].iterations:
                name += f" [{nodes[nid].iterations}]"
            names.append(name)
        running = f"  running: {', '.join(names)}" if names else ""
        elapsed = time.monotonic() - self.t0
        return f"[{bar}] {done}/{self.total} nodes  {elapsed:6.1f}s{running}"

    def _draw_bar(self) -> None:
        width = shutil.get_terminal_size((100, 24)).columns - 1
        text = self.bar_text()
        if len(text) > width:
            text = text[: max(0, width - 3)] + "..."
        self.stream.write("\r\x1b[K" + text)
        self.stream.flush()
        self._bar_shown = True


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"
