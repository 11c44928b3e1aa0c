"""Point 1: the first start explains itself until dismissed (a welcome card over the first
workflow), a start page lists recent files and templates while no workflow is open, and the
window is titled after the workflow."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from builder.mainwindow import MainWindow
from tests.builder.newcomer_support import (
    answer_run_inputs,
    make_window,
    press,
    run_to_end,
    write,
)
from tests.builder.shell_support import Answers, make_registry, small_workflow


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWLOOM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FLOWLOOM_HISTORY_DB", str(tmp_path / "history.db"))
    monkeypatch.setenv("FLOWLOOM_DOCUMENTS_DIR", str(tmp_path / "Documents"))


def card_text(window) -> str:
    return " ".join(label.text() for label in window.welcome.findChildren(QLabel))


def test_first_start_shows_a_welcome_card_that_stays_until_dismissed(
        qtbot, qloop, tmp_path, data_dir):
    window = make_window(qtbot, tmp_path)
    assert window.offer_first_start()
    card = window.welcome
    assert card.isVisible()
    assert window.windowTitle().startswith("Hello Flowloom")  # not "Untitled"
    text = card_text(window)
    assert "Run ▶" in text and "palette" in text and "output" in text and "input" in text
    assert card.gallery_button.isVisible() and card.guide_button.isVisible()
    assert not window.start_page.isVisible()

    timer = answer_run_inputs()
    qtbot.mouseClick(card.run_button, Qt.MouseButton.LeftButton)
    timer.stop()
    assert run_to_end(window, qloop).status == "succeeded"
    assert card.isVisible()  # a run, its status lines, and the card is still there

    qtbot.mouseClick(card.dismiss_button, Qt.MouseButton.LeftButton)
    assert not card.isVisible()
    again = MainWindow(make_registry(), window.settings, Answers().prompts(), recover=False)
    qtbot.addWidget(again)
    again.show()
    again.offer_first_start()
    assert not again.welcome.isVisible()


def test_the_guide_button_opens_the_user_guide_offline(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path)
    window.welcome.show_card()
    qtbot.mouseClick(window.welcome.guide_button, Qt.MouseButton.LeftButton)
    viewer = window.doc_viewers[-1]
    assert viewer.isVisible()
    assert "Your first workflow" in viewer.browser.toPlainText()


def test_with_no_workflow_open_a_start_page_lists_recent_files_and_templates(
        qtbot, tmp_path, data_dir):
    path = write(tmp_path, "small.loom.json", small_workflow())
    window = make_window(qtbot, tmp_path)
    assert window.start_page.isVisible()  # nothing open at start
    assert window.open_path(path)
    assert not window.start_page.isVisible()
    assert window.windowTitle() == "small.loom.json — Flowloom"
    press(qtbot, window, Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(window.start_page.isVisible)
    buttons = window.start_page.buttons
    assert f"recent:{path.resolve()}" in buttons
    assert "template:hello" in buttons
    qtbot.mouseClick(buttons["template:data_pipeline"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.start_page.isVisible())
    assert window.windowTitle().startswith("Data pipeline")
    assert window.document.path is None


def test_the_start_page_tells_same_named_recent_files_apart(qtbot, tmp_path, data_dir):
    paths = []
    for folder in ("alpha", "beta"):
        (tmp_path / folder).mkdir()
        paths.append(write(tmp_path / folder, "small.loom.json", small_workflow()))
    window = make_window(qtbot, tmp_path)
    for path in paths:
        assert window.open_path(path)
    press(qtbot, window, Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(window.start_page.isVisible)
    buttons = window.start_page.buttons
    assert [buttons[f"recent:{p.resolve()}"].text() for p in paths] == [
        "small.loom.json — alpha", "small.loom.json — beta"]


def test_adding_a_node_to_the_empty_workflow_hides_the_start_page(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path)
    assert window.start_page.isVisible()
    window.add_node_in_view("data.value")
    assert not window.start_page.isVisible()


def test_a_later_start_with_nothing_open_shows_the_start_page_not_the_card(
        qtbot, tmp_path, data_dir):
    window = make_window(qtbot, tmp_path)
    assert window.offer_first_start()  # the first start: Hello Flowloom and the card
    later = MainWindow(make_registry(), window.settings, Answers().prompts(), recover=False)
    qtbot.addWidget(later)
    later.show()
    assert not later.offer_first_start()  # not dismissed, but its steps need a workflow
    assert not later.welcome.isVisible()
    qtbot.waitUntil(later.start_page.isVisible)
    page = later.start_page  # measured with its rows (it was once a 30x26 box over the canvas)
    assert page.height() >= page.sizeHint().height() > 200 and "template:hello" in page.buttons
