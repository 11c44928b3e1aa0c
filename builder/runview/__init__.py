"""The editor's live run: controller, approvals, run inputs, status lines and window wiring.

    RunView(window)          # built by the main window after its first frame; `window.runner`
                             # is its controller (a `PendingRunner` until then: pending.py)
    RunController            # start / stop / re-run from a node, history recording
    Approvals                # the run's approver (Approve/Reject on the node, review dialog)

The names are looked up when first used (PEP 562), so importing the package (or its small
`pending` module) imports none of the run path: the window's first frame does not need it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - typing only
    from builder.runview.approvals import ApprovalDialog, Approvals
    from builder.runview.controller import LastRun, RunController
    from builder.runview.view import RunView

_WHERE = {"ApprovalDialog": "approvals", "Approvals": "approvals", "LastRun": "controller",
          "RunController": "controller", "RunView": "view"}

__all__ = ["ApprovalDialog", "Approvals", "LastRun", "RunController", "RunView"]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # looked up once
    return value
