"""Run history: every run recorded in one SQLite database (sqlmodel), read back and analysed.

Qt-free. The editor's History panel and the `flowloom history` / `flowloom stats` commands sit on
top of it.

    store = HistoryStore.open()                 # $FLOWLOOM_HISTORY_DB or the user data folder
    recorder = HistoryRecorder(store, "flow.loom.json", canonical_text).attach(run)
    await run.execute()
    await recorder.aclose()                     # the final write
    list_runs(store, workflow="flow.loom.json")  # newest first
    workflow_stats(store, "flow.loom.json").to_json()
"""

from __future__ import annotations

from engine.history.analytics import (
    DurationStats,
    NodeStats,
    TrendPoint,
    WorkflowStats,
    node_stats,
    percentile,
    workflow_stats,
)
from engine.history.preview import PREVIEW_CHARS, preview
from engine.history.queries import (
    Comparison,
    LogLine,
    NodeComparison,
    NodeRunInfo,
    NodeSummary,
    OutputPreview,
    RunDetail,
    RunInfo,
    compare_runs,
    get_run,
    iso,
    list_runs,
    workflow_key,
)
from engine.history.recorder import HistoryRecorder, content_hash, workflow_hash
from engine.history.schema import INTERRUPTED, SCHEMA_VERSION
from engine.history.store import ENV_VAR, HistoryError, HistoryStore, default_path, resolve_path

__all__ = [
    "ENV_VAR", "INTERRUPTED", "PREVIEW_CHARS", "SCHEMA_VERSION", "Comparison", "DurationStats",
    "HistoryError", "HistoryRecorder", "HistoryStore", "LogLine", "NodeComparison",
    "NodeRunInfo", "NodeStats", "NodeSummary", "OutputPreview", "RunDetail", "RunInfo",
    "TrendPoint", "WorkflowStats", "compare_runs", "content_hash", "default_path", "get_run",
    "iso", "list_runs", "node_stats", "percentile", "preview", "resolve_path", "workflow_hash",
    "workflow_key", "workflow_stats",
]
