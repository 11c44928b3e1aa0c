"""Point 9: an approval takes one click (the inline pill decides), a comment is optional (a
small popover), the caption fits inside what the overlay repaints, and nothing is left behind."""

from __future__ import annotations

import asyncio

import pytest
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QStyleOptionGraphicsItem

from builder.runview.paint import AREA
from tests.builder.newcomer_support import until
from tests.builder.test_approval_live import approval_workflow, click_item, open_window


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWLOOM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FLOWLOOM_HISTORY_DB", str(tmp_path / "history.db"))


def start_waiting(qtbot, qloop, tmp_path):
    window = open_window(qtbot, tmp_path)
    window.run_view.approvals.dialog = lambda *_a: pytest.fail("no dialog for one click")
    assert window.run_workflow()
    overlay = window.run_view.overlay
    until(qloop, lambda: overlay.state("gate") == "waiting")
    return window, overlay


def test_one_click_on_reject_decides(qtbot, qloop, tmp_path, data_dir):
    window, overlay = start_waiting(qtbot, qloop, tmp_path)
    click_item(qtbot, window, overlay.buttons("gate")["reject"])
    result = qloop.run_until_complete(asyncio.wait_for(window.runner.task, 5))
    assert result.outputs["refused"] == approval_workflow().nodes["draft"].params["value"]
    assert result.outputs["decision"]["approved"] is False
    assert not overlay.buttons("gate")


def test_the_comment_popover_decides_with_a_comment(qtbot, qloop, tmp_path, data_dir):
    window, overlay = start_waiting(qtbot, qloop, tmp_path)
    click_item(qtbot, window, overlay.buttons("gate")["comment"])
    qtbot.waitUntil(lambda: window.run_view.comment_popover is not None
                    and window.run_view.comment_popover.isVisible())
    popover = window.run_view.comment_popover
    qtbot.keyClicks(popover.comment, "fine by me")
    qtbot.keyClick(popover.comment, Qt.Key.Key_Return)
    result = qloop.run_until_complete(asyncio.wait_for(window.runner.task, 5))
    assert result.outputs["decision"]["comment"] == "fine by me"
    assert result.outputs["decision"]["approved"] is True


def test_the_waiting_caption_is_painted_inside_the_repainted_area(qtbot, qloop, tmp_path,
                                                                  data_dir):
    window, overlay = start_waiting(qtbot, qloop, tmp_path)
    layer = overlay.layer
    rect = layer.rects["gate"]
    area = rect.adjusted(*AREA)
    outside = area.adjusted(-60, -40, 60, 60)
    image = QImage(int(outside.width()), int(outside.height()), QImage.Format.Format_ARGB32)
    image.fill(QColor(0, 0, 0, 0))
    painter = QPainter(image)
    painter.translate(-outside.left(), -outside.top())
    option = QStyleOptionGraphicsItem()
    option.exposedRect = outside
    layer.paint(painter, option)
    painter.end()
    stray = [(x, y) for x in range(image.width()) for y in range(image.height())
             if image.pixelColor(x, y).alpha() > 0
             and not area.contains(QRectF(x + outside.left(), y + outside.top(), 1, 1))]
    others = [r.adjusted(*AREA) for nid, r in layer.rects.items() if nid != "gate"]
    stray = [(x, y) for x, y in stray if not any(
        o.contains(x + outside.left(), y + outside.top()) for o in others)]
    assert stray == [], f"{len(stray)} pixels painted outside the area that is repainted"
    window.stop_workflow()
    qloop.run_until_complete(asyncio.wait_for(window.runner.task, 5))
