"""The inspector's last-run line says running time, each attempt, and the wait for the cap
apart (docs/semantics.md, Durations), and bytes as their size."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from builder.runview.lastrun import last_run_widget

BASE = {"status": "succeeded", "duration_s": 0.3, "inputs": None, "outputs": None,
        "error": None, "reason": None, "cached": False, "log": []}


def _shown(qtbot, *records: dict) -> QWidget:
    """The last-run sections of `records`, in one window the test owns (as the inspector
    holds them)."""
    host = QWidget()
    qtbot.addWidget(host)
    layout = QVBoxLayout(host)
    for record in records:
        layout.addWidget(last_run_widget(record))
    return host


def test_last_run_line_shows_attempts_and_queue_time(qtbot):
    host = _shown(qtbot, dict(BASE, queued_s=0.0, attempt_durations_s=(0.3,)),
                  dict(BASE, queued_s=0.25, attempt_durations_s=(0.1, 0.2)))
    lines = [label.text() for label in host.findChildren(QLabel, "LastRunStatus")]
    assert lines == ["succeeded in 300 ms",
                     "succeeded in 300 ms over attempts of 100, 200 ms, after 250 ms waiting "
                     "for a slot"]


def test_last_run_outputs_show_bytes_as_their_size(qtbot):
    record = dict(BASE, outputs={"response": {"status": 200, "content": b"\x89PNG" * 1_250_000}})
    host = _shown(qtbot, record)
    text = host.findChild(QPlainTextEdit, "LastRunOutputs").toPlainText()
    assert '"content": "<5,000,000 bytes>"' in text
