"""How quickly the loop thread gets the GIL back from a worker thread while a run is live.

During a run the loop thread shares the GIL with Python threads: the run's compile and prepare
(`asyncio.to_thread`) at its start, the history writer while it runs, the run record at its end.
A thread that wants the GIL waits for the holder to drop it, which a busy holder does only every
`sys.getswitchinterval()` (5 ms by default) — and the loop thread asks for it again after every
Qt call that let go of it (a paint calling back into Python, a layout, a poll): on the slow
machine of issue 17 a 5 ms tick came 30-80 ms late while its own work took 5 ms, with a worker
thread holding the GIL. While a run is live the interval is RUN_S instead; it is put back when
the run ends (like the collector's thresholds, controller.FullCollectionsWait).
"""

from __future__ import annotations

import sys

RUN_S = 0.0005  # a worker thread holds the GIL at most this long while the loop waits for it


class QuickHandover:
    def __init__(self) -> None:
        self.saved: float | None = None

    def hold(self) -> None:
        if self.saved is None:
            self.saved = sys.getswitchinterval()
            sys.setswitchinterval(min(self.saved, RUN_S))

    def release(self) -> None:
        if self.saved is not None:
            sys.setswitchinterval(self.saved)
            self.saved = None
