"""Fired alerts in the live view: a banner over the canvas and a marker on the node.

`AlertDisplay(canvas, theme)` shows each `AlertFired` (engine/events.py) the run controller
reports: the banner lists the run's alerts (newest last) until the next run starts, and a node
an alert names gets a small "⚠ alert" label above it, its tooltip the alert's sentence. Display
only: which alerts fire is engine/alerts.py's business.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QGraphicsSimpleTextItem, QLabel
from shiboken6 import isValid

from engine.events import AlertFired

BANNER_LINES = 4  # the latest alerts the banner lists


class AlertDisplay(QObject):
    def __init__(self, canvas: Any, theme: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.canvas = canvas
        self.theme = theme
        self.fired: list[AlertFired] = []
        self.banner = QLabel(canvas)
        self.banner.setObjectName("alert_banner")
        self.banner.setWordWrap(True)
        self.banner.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.banner.hide()
        self.markers: dict[str, QGraphicsSimpleTextItem] = {}
        self.set_theme(theme)

    def set_theme(self, theme: Any) -> None:
        self.theme = theme
        color = theme.state_color("waiting")
        text = "#1b1b1b" if not theme.dark else "#101010"
        self.banner.setStyleSheet(
            f"QLabel#alert_banner {{ background: {color.name()}; color: {text}; "
            "padding: 6px 10px; border-radius: 4px; font-weight: 600; }")
        # A marker is a child of its node item: it goes when the scene rebuilds the item.
        self.markers = {k: m for k, m in self.markers.items() if isValid(m)}
        for marker in self.markers.values():
            marker.setBrush(QBrush(color))

    def clear(self) -> None:
        self.fired = []
        self.banner.hide()
        for marker in self.markers.values():
            if isValid(marker) and marker.scene() is not None:
                marker.scene().removeItem(marker)
        self.markers = {}

    def show_alert(self, event: AlertFired) -> None:
        self.fired.append(event)
        lines = [e.message for e in self.fired[-BANNER_LINES:]]
        more = len(self.fired) - BANNER_LINES
        prefix = f"{len(self.fired)} alerts fired" if len(self.fired) > 1 else "Alert fired"
        self.banner.setText(f"⚠ {prefix}: " + "  ·  ".join(lines)
                            + (f"  (+{more} earlier)" if more > 0 else ""))
        self.banner.setToolTip("\n".join(e.message for e in self.fired))
        width = max(200, self.canvas.viewport().width() - 24)
        self.banner.setFixedWidth(width)
        self.banner.adjustSize()
        self.banner.move(12, 12)
        self.banner.show()
        self.banner.raise_()
        if event.node_id:
            self._mark(event.node_id, event.message)

    def _mark(self, node_id: str, message: str) -> None:
        item = self.canvas.graph_scene.nodes.get(node_id)
        if item is None:
            return
        marker = self.markers.get(node_id)
        if marker is None or not isValid(marker) or marker.scene() is None:
            marker = QGraphicsSimpleTextItem("⚠ alert", item)
            marker.setBrush(QBrush(QColor(self.theme.state_color("waiting"))))
            marker.setZValue(10)
            marker.setPos(item.boundingRect().left(), item.boundingRect().top() - 18)
            self.markers[node_id] = marker
        marker.setToolTip(message)
