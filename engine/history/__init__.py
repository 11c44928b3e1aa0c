"""Run history: every run recorded in one SQLite database (sqlmodel), read back and analysed.

Qt-free. The editor's History panel and the `flowloom history` / `flowloom stats` commands sit on
top of it. Names are imported on first use (PEP 562), so `flowloom run` records through
engine/history/lite.py (stdlib sqlite3) without loading SQLAlchemy and pydantic.

    store = HistoryStore.open()                 # $FLOWLOOM_HISTORY_DB or the user data folder
    recorder = HistoryRecorder(store, "flow.loom.json", canonical_text).attach(run)
    await run.execute()
    await recorder.aclose()                     # the final write
    list_runs(store, workflow="flow.loom.json")  # newest first
    workflow_stats(store, "flow.loom.json").to_json()
"""

from __future__ import annotations

import importlib
from typing import Any

# Eager (stdlib only): the function `preview` must shadow the submodule of the same name.
from engine.history.preview import PREVIEW_CHARS, preview  # noqa: F401 - re-exported

# name -> the submodule that defines it
_HOMES = {
    "DurationStats": "analytics", "NodeStats": "analytics", "TrendPoint": "analytics",
    "WorkflowStats": "analytics", "node_stats": "analytics", "percentile": "analytics",
    "workflow_stats": "analytics",
    "Comparison": "queries", "LogLine": "queries", "NodeComparison": "queries",
    "NodeRunInfo": "queries", "NodeSummary": "queries", "OutputPreview": "queries",
    "RunDetail": "queries", "RunInfo": "queries", "compare_runs": "queries", "get_run": "queries",
    "iso": "queries", "list_runs": "queries", "workflow_key": "queries",
    "HistoryRecorder": "recorder", "content_hash": "recorder", "workflow_hash": "recorder",
    "INTERRUPTED": "names", "SCHEMA_VERSION": "names",
    "ENV_VAR": "lite", "default_path": "lite", "resolve_path": "lite",
    "HistoryError": "lite", "HistoryStore": "store",
}

__all__ = sorted([*_HOMES, "PREVIEW_CHARS", "preview"])


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'engine.history' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"engine.history.{home}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return __all__
