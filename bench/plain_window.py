"""The plain-Qt baseline process of bench/startup_editor.py: a PySide6 main window holding a
QGraphicsView and one dock, started, painted once, saved to a PNG, and gone.

    QT_QPA_PLATFORM=offscreen python bench/plain_window.py OUT.png [FILE.loom.json]

With FILE it reads the workflow JSON with the standard library and puts one rounded rectangle
per node and one cubic bezier path per edge in the scene (what bench/editor.py's plain scene
holds). It reports the first frame the way the editor does (builder/firstframe.py): the first
paint event of the view's viewport, then the end of that paint pass, printed as
`first_frame_at <unix time> cpu <CPU seconds of the process so far>`; then it saves the window
to OUT.png and quits. Only PySide6 and the standard library are imported: this is the floor a
Qt editor cannot go below.
"""

from __future__ import annotations

import json
import sys
import time

from PySide6.QtCore import QEvent, QObject, QPointF, Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QGraphicsScene,
    QGraphicsView,
    QLabel,
    QMainWindow,
    QWidget,
)

NODE_W, NODE_H = 160.0, 78.0


def build_scene(path: str | None) -> QGraphicsScene:
    scene = QGraphicsScene()
    scene.setBackgroundBrush(QColor("#1d1f23"))
    body, edge = QBrush(QColor("#2b2e34")), QPen(QColor("#15171a"), 1.2)
    wire = QPen(QColor("#a4a9b3"), 2.2)
    if path is None:
        scene.addRect(0, 0, NODE_W, NODE_H, edge, body)
        return scene
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    where: dict[str, tuple[float, float]] = {}
    for node in data["nodes"]:
        x, y = node.get("position", (0.0, 0.0))
        where[node["id"]] = (x, y)
        item = scene.addRect(0, 0, NODE_W, NODE_H, edge, body)
        item.setPos(x, y)
    for e in data["edges"]:
        (sx, sy), (tx, ty) = where[e["source"]], where[e["target"]]
        curve = QPainterPath(QPointF(sx + NODE_W, sy + 50))
        dx = max(abs(tx - sx - NODE_W) * 0.5, 40.0)
        curve.cubicTo(QPointF(sx + NODE_W + dx, sy + 50), QPointF(tx - dx, ty + 50),
                      QPointF(tx, ty + 50))
        scene.addPath(curve, wire)
    return scene


class FirstPaint(QObject):
    """The first paint of `watched` (the view's viewport), then the end of that paint pass."""

    def __init__(self, window: QWidget, watched: QWidget, out: str) -> None:
        super().__init__(window)
        self.window, self.out, self.seen = window, out, False
        watched.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if not self.seen and event.type() == QEvent.Type.Paint:
            self.seen = True
            watched.removeEventFilter(self)
            QTimer.singleShot(0, self.done)
        return False

    def done(self) -> None:
        sys.stdout.write(f"first_frame_at {time.time():.6f} cpu {time.process_time():.6f}\n")
        sys.stdout.flush()
        self.window.grab().save(self.out, "PNG")
        QApplication.instance().quit()


def main(argv: list[str]) -> int:
    out, path = argv[0], (argv[1] if len(argv) > 1 else None)
    app = QApplication(sys.argv[:1])
    window = QMainWindow()
    scene = build_scene(path)  # held here: the view does not keep it alive
    view = QGraphicsView(scene)
    view.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
    window.setCentralWidget(view)
    dock = QDockWidget("Palette", window)
    dock.setWidget(QLabel("Nodes"))
    window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
    window.resize(1400, 860)
    FirstPaint(window, view.viewport(), out)
    window.show()
    view.fitInView(scene.itemsBoundingRect(), Qt.AspectRatioMode.KeepAspectRatio)
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
