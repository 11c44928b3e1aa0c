"""Keeps the canvas's run repaint and the timeline's redraw out of one loop turn.

Both are timers of their own (the overlay's frame tick, the panels' redraw timer) and each is a
paint of 5-20 ms on a slow machine: when they fell in the same loop turn, Qt painted both in one
window update and the loop was blocked for their sum. The run view gives both one `FramePacer`;
each asks `claim(name)` before it repaints and, refused (the other repainted less than GAP_S
ago), waits for its next tick. Qt-free: the clock is `time.monotonic` unless given.
"""

from __future__ import annotations

import time
from collections.abc import Callable

GAP_S = 0.012  # the other kind of repaint waits this long after one (a loop turn or two)


class FramePacer:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.last: dict[str, float] = {}  # name -> when it last repainted

    def claim(self, name: str) -> bool:
        """May `name` repaint now? (Yes unless another name did within GAP_S; noted.)"""
        now = self.clock()
        if any(now - at < GAP_S for other, at in self.last.items() if other != name):
            return False
        self.last[name] = now
        return True
