"""Approvals in the editor: the waiting node shows Approve/Reject; the dialog's answer flows on."""

from __future__ import annotations

import asyncio

import pytest
from PySide6.QtCore import QPoint, Qt

from builder.mainwindow import MainWindow
from builder.runview.approvals import ApprovalDialog
from engine.context import ApprovalRequest
from engine.model import Edge, Node, Workflow
from tests.builder.shell_support import Answers, make_registry, temp_settings
from tests.builder.test_run_live import until


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWLOOM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FLOWLOOM_HISTORY_DB", str(tmp_path / "history.db"))


def approval_workflow() -> Workflow:
    return Workflow(name="Review", nodes=[
        Node("draft", "data.value", "Draft", {"value": {"text": "ship it"}}, (0, 0)),
        Node("gate", "human.approval", "Gate", {"title": "Publish?"}, (260, 0)),
        Node("ok", "flow.output", "Published", {"name": "published"}, (560, -80)),
        Node("no", "flow.output", "Refused", {"name": "refused"}, (560, 80)),
        Node("why", "flow.output", "Decision", {"name": "decision"}, (560, 220)),
    ], edges=[Edge("draft", "out", "gate", "in"), Edge("gate", "approved", "ok", "in"),
              Edge("gate", "rejected", "no", "in"), Edge("gate", "decision", "why", "in")])


def open_window(qtbot, tmp_path) -> MainWindow:
    window = MainWindow(make_registry(), temp_settings(tmp_path), Answers().prompts(),
                        recover=False, theme_mode="dark")
    qtbot.addWidget(window)
    window.session.new()
    for node in approval_workflow().nodes.values():
        window.document.workflow.add_node(node)
    for edge in approval_workflow().edges:
        window.document.workflow.add_edge(edge)
    window.resize(1200, 800)
    window.show()
    window.canvas.fit_all()
    return window


def click_item(qtbot, window: MainWindow, item) -> None:
    canvas = window.canvas
    centre = item.mapToScene(item.boundingRect().center())
    point: QPoint = canvas.mapFromScene(centre)
    qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=point)


def test_approve_button_on_the_waiting_node_decides_in_one_click_and_the_run_goes_on(
        qtbot, qloop, tmp_path, data_dir):
    window = open_window(qtbot, tmp_path)
    reviews: list[tuple[ApprovalRequest, bool | None]] = []

    def review(_parent, request, approve, done):
        reviews.append((request, approve))
        done(True, "looks good")

    window.run_view.approvals.dialog = review
    assert window.run_workflow()
    overlay = window.run_view.overlay
    until(qloop, lambda: overlay.state("gate") == "waiting")
    assert window.runner.running  # the run waits for the person, the UI does not
    buttons = overlay.buttons("gate")
    assert set(buttons) == {"approve", "reject", "comment"}
    click_item(qtbot, window, buttons["approve"])
    result = qloop.run_until_complete(asyncio.wait_for(window.runner.task, 30))
    assert reviews == []  # (#13) the inline button decides: no second click in a dialog
    assert result.status == "succeeded"
    assert result.outputs["published"] == {"text": "ship it"}
    assert "refused" not in result.outputs
    assert result.outputs["decision"]["approved"] is True
    assert result.outputs["decision"]["comment"] == ""  # a comment is optional
    assert overlay.state("gate") == "succeeded" and not overlay.buttons("gate")


def test_reject_from_the_run_menu_sends_the_value_out_of_rejected(qtbot, qloop, tmp_path,
                                                                  data_dir):
    window = open_window(qtbot, tmp_path)
    window.run_view.approvals.dialog = lambda _p, _r, approve, done: done(approve, "too early")
    assert window.run_workflow()
    until(qloop, lambda: window.run_view.overlay.state("gate") == "waiting")
    window.canvas.select_nodes(["gate"])
    window.acts["reject"].trigger()
    result = qloop.run_until_complete(asyncio.wait_for(window.runner.task, 30))
    assert result.outputs["refused"] == {"text": "ship it"}
    assert result.outputs["decision"] == {"approved": False, "comment": "too early",
                                          "by": window.run_view.approvals.user}


def test_stop_withdraws_an_open_question(qtbot, qloop, tmp_path, data_dir):
    window = open_window(qtbot, tmp_path)
    window.run_view.approvals.dialog = lambda *_args: None  # nobody answers
    assert window.run_workflow()
    until(qloop, lambda: window.run_view.overlay.state("gate") == "waiting")
    window.acts["stop"].trigger()
    result = qloop.run_until_complete(asyncio.wait_for(window.runner.task, 30))
    assert result.status == "cancelled"
    assert window.run_view.approvals.pending == {}
    assert window.run_view.overlay.state("gate") == "cancelled"


def test_review_dialog_shows_the_value_and_takes_a_comment(qtbot):
    request = ApprovalRequest("r1", "gate", "Publish?", {"text": "ship it"}, "Approve this?")
    dialog = ApprovalDialog(request, True)
    qtbot.addWidget(dialog)
    assert '"text": "ship it"' in dialog.value_view.toPlainText()
    dialog.comment.setPlainText("fine")
    dialog.reject_button.click()
    assert dialog.approved is False and dialog.comment.toPlainText() == "fine"
