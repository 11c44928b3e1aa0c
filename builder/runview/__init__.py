"""The editor's live run: controller, approvals, run inputs, status lines and window wiring.

    RunView(window)          # installed by the main window; `window.runner` is its controller
    RunController            # start / stop / re-run from a node, history recording
    Approvals                # the run's approver (Approve/Reject on the node, review dialog)
"""

from __future__ import annotations

from builder.runview.approvals import ApprovalDialog, Approvals
from builder.runview.controller import LastRun, RunController
from builder.runview.view import RunView

__all__ = ["ApprovalDialog", "Approvals", "LastRun", "RunController", "RunView"]
