"""`bench/live.py --frames`: what the loop thread ran between two ticks, for each late tick.

With `--slots` the benchmark times every Qt dispatch; `FrameLog` keeps, between two ticks of the
5 ms ticker, each outermost dispatch (and asyncio callback) and each widget's paint inside it,
with its thread CPU time. A tick that comes more than `late_ms` late keeps that list, so the
report says what one late tick was made of (e.g. the canvas and the timeline painted in one
window update), not only which dispatches were long over the whole run.
"""

from __future__ import annotations

import collections


class FrameLog:
    def __init__(self, late_ms: float = 12.0, keep: int = 16) -> None:
        self.late_ms, self.keep = late_ms, keep
        self.current: list[tuple[int, str, float]] = []  # (depth, what, CPU ms) since a tick
        self.late: list[tuple[float, list[tuple[int, str, float]]]] = []
        self.paints: collections.Counter[str] = collections.Counter()  # CPU ms per widget
        self.paint_counts: collections.Counter[str] = collections.Counter()
        self.paint_max: dict[str, float] = {}

    def add(self, depth: int, what: str, cpu_ms: float) -> None:
        if depth and what.endswith(" Paint"):
            self.paints[what] += cpu_ms
            self.paint_counts[what] += 1
            self.paint_max[what] = max(self.paint_max.get(what, 0.0), cpu_ms)
        if depth == 0 or what.endswith(" Paint") or cpu_ms >= 1.0:
            self.current.append((depth, what, cpu_ms))

    def tick(self, late_ms: float) -> None:
        if late_ms >= self.late_ms:
            self.late.append((late_ms, self.current))
        self.current = []

    def report(self) -> str:
        lines = ["widget paints inside window updates during the runs (thread CPU):"]
        for what, ms in self.paints.most_common(12):
            n = self.paint_counts[what]
            lines.append(f"  {ms:7.1f} ms in {n:4d}x (mean {ms / n:5.1f}, max "
                         f"{self.paint_max[what]:5.1f})  {what}")
        worst = sorted(self.late, key=lambda x: -x[0])[:self.keep]
        lines.append(f"the {len(worst)} latest of {len(self.late)} ticks "
                     f">= {self.late_ms:.0f} ms late: what ran since the tick before "
                     "(thread CPU; dispatches under 1 ms left out unless outermost)")
        for late, entries in worst:
            lines.append(f"  tick {late:5.1f} ms late:")
            for depth, what, ms in entries:
                if ms >= 0.5 or depth:
                    lines.append(f"    {'  ' * depth}{ms:5.1f}  {what}")
        return "\n".join(lines)
