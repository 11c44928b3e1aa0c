"""File ▸ Describe a workflow… (pytest-qt on the qasync loop, the scripted LLM server)."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import QTimer

from builder.mainwindow import MainWindow
from builder.plan_dialog import PlanDialog, show_for
from nodes import default_registry
from tests.builder.shell_support import Answers, temp_settings
from tests.planner.test_plan_cli import _draft
from tests.servers.llm import reply

pytest_plugins = ["tests.servers.fixtures"]


def _window(qtbot, tmp_path):
    w = MainWindow(default_registry(), settings=temp_settings(tmp_path),
                   prompts=Answers().prompts(), recover=False)
    qtbot.addWidget(w)
    return w


def test_the_dialog_opens_a_repaired_draft_as_an_unsaved_document(qtbot, qloop, tmp_path,
                                                                  llm_server):
    w = _window(qtbot, tmp_path)
    w.acts["describe"].trigger()
    dialog = w.findChild(PlanDialog)
    assert dialog is not None and dialog.isVisible()
    llm_server.script(reply(_draft("text.unknown_kind")),
                      reply(_draft(explanation="Says hello to Ada.")))
    dialog.goal.setPlainText("greet a person by name")
    dialog.base_url.setText(llm_server.url)
    dialog.model.setText("test-model")
    assert dialog.start() is None
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(5)  # the Qt loop keeps turning while the planner awaits the server
    result = qloop.run_until_complete(asyncio.wait_for(dialog.task, 30))
    timer.stop()
    assert result is not None and result.rounds == 2
    assert ticks
    document = w.document
    assert document.path is None and document.modified
    assert set(document.workflow.nodes) == {"start", "greet", "out"}
    assert document.workflow.nodes["greet"].type == "data.expression"
    assert dialog.explanation.text() == "Says hello to Ada."
    assert "unsaved draft" in dialog.status.text()
    assert w.settings.value("planner/model") == "test-model"


def test_the_dialog_says_why_when_no_draft_validates(qtbot, qloop, tmp_path, llm_server):
    w = _window(qtbot, tmp_path)
    before = w.document
    dialog = show_for(w)
    llm_server.script(*[reply(_draft("text.nope")) for _ in range(3)])
    dialog.goal.setPlainText("something")
    dialog.base_url.setText(llm_server.url)
    dialog.model.setText("test-model")
    dialog.start()
    assert qloop.run_until_complete(asyncio.wait_for(dialog.task, 30)) is None
    assert "no draft validated" in dialog.status.text() and "text.nope" in dialog.status.text()
    assert w.document is before and dialog.draft_button.isEnabled()


def test_the_dialog_asks_for_a_goal_and_a_model(qtbot, tmp_path):
    w = _window(qtbot, tmp_path)
    dialog = show_for(w)
    dialog.goal.setPlainText("")
    assert dialog.start() == "Say what the workflow should do."
    dialog.goal.setPlainText("x")
    dialog.model.setText("")
    assert dialog.start() == "Give the model to ask." and dialog.task is None
