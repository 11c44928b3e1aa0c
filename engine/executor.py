"""The executor's public names: `Run`, `run_workflow`, `resolve_inputs`.

A run is built from explicit parts (engine/run.py); the scheduling rules are
engine/scheduler.py's, each node's attempts engine/attempts.py's, and the record of what
happened engine/ledger.py's. This module keeps `from engine.executor import Run` working for
every caller (the CLI, the editor, node types that start runs, tests).
"""

from __future__ import annotations

from engine.run import Run, resolve_inputs, run_workflow
from engine.scheduler import SLICE_S
from engine.values import Dead, isolate

__all__ = ["SLICE_S", "Dead", "Run", "isolate", "resolve_inputs", "run_workflow"]
