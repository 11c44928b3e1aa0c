"""`window.runner` until the run view is built (right after the window's first frame).

The main window builds its `RunView` (and with it the `RunController`, the canvas overlay and
the engine's run modules) after its first frame, or as soon as something needs it. Until then
`window.runner` is a `PendingRunner`: what the window's parts set on the runner before that
(`grants` from the trust gate, `host_slots`, `seam`) is kept here and handed to the controller
when it is made; `running` is False (nothing can run yet). Reading anything else — a signal, a
method, `history_store()`, `store` — makes the window build its run view and answers from the
real controller, which then replaces this object as `window.runner`; a reference to this object
kept somewhere keeps working, it forwards to the controller from then on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# What may be set on the runner before it exists (kept, then handed to the controller).
KEPT = ("grants", "host_slots", "seam")


class PendingRunner:
    def __init__(self, build: Callable[[], Any]) -> None:
        """`build()` builds the window's run view and returns its controller."""
        object.__setattr__(self, "_build", build)
        object.__setattr__(self, "_real", None)
        object.__setattr__(self, "_kept", {name: None for name in KEPT})

    @property
    def built(self) -> bool:
        return self._real is not None

    @property
    def running(self) -> bool:
        return self._real is not None and self._real.running

    def hand_over(self, controller: Any) -> None:
        """The controller is made: it takes what was set here; this object forwards to it."""
        for name, value in self._kept.items():
            setattr(controller, name, value)
        object.__setattr__(self, "_real", controller)

    def _controller(self) -> Any:
        if self._real is None:
            self._build()  # (calls hand_over)
        return self._real

    def __getattr__(self, name: str) -> Any:  # only for what this class does not define
        kept = self.__dict__["_kept"]
        if self.__dict__["_real"] is None and name in kept:
            return kept[name]
        return getattr(self._controller(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        if self._real is None and name in self._kept:
            self._kept[name] = value
        else:
            setattr(self._controller(), name, value)
