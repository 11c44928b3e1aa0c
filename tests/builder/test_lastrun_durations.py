"""The inspector's last-run line says running time, each attempt, and the wait for the cap
apart (docs/semantics.md, Durations), and bytes as their size."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel

from builder.runview.lastrun import last_run_widget


def _status(qtbot, record: dict) -> str:
    widget = last_run_widget(record)
    qtbot.addWidget(widget)
    return widget.findChild(QLabel, "LastRunStatus").text()


def test_last_run_line_shows_attempts_and_queue_time(qtbot):
    base = {"status": "succeeded", "duration_s": 0.3, "inputs": None, "outputs": None,
            "error": None, "reason": None, "cached": False, "log": []}
    assert _status(qtbot, dict(base, queued_s=0.0, attempt_durations_s=(0.3,))) == (
        "succeeded in 300 ms")
    assert _status(qtbot, dict(base, queued_s=0.25, attempt_durations_s=(0.1, 0.2))) == (
        "succeeded in 300 ms over attempts of 100, 200 ms, after 250 ms waiting for a slot")


def test_last_run_outputs_show_bytes_as_their_size(qtbot):
    from PySide6.QtWidgets import QPlainTextEdit

    record = {"status": "succeeded", "duration_s": 0.1, "inputs": None, "error": None,
              "reason": None, "cached": False, "log": [],
              "outputs": {"response": {"status": 200, "content": b"\x89PNG" * 1_250_000}}}
    widget = last_run_widget(record)
    qtbot.addWidget(widget)
    text = widget.findChild(QPlainTextEdit, "LastRunOutputs").toPlainText()
    assert '"content": "<5,000,000 bytes>"' in text
