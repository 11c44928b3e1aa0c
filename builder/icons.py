"""The editor's icons: the SVGs in `resources/icons/`, tinted to the theme.

The SVGs draw with `currentColor`; `icon(name, color)` substitutes a colour and returns a QIcon
that renders the vector at whatever size and device-pixel ratio is asked for (crisp on high-DPI
screens). Disabled icons are drawn faded. Unknown names fall back to the `other` icon.
"""

from __future__ import annotations

import functools
from pathlib import Path

from PySide6.QtCore import QByteArray, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QIcon, QIconEngine, QImage, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

ICON_DIR = Path(__file__).resolve().parent.parent / "resources" / "icons"

# Category names (as node types declare them) -> icon file names.
CATEGORY_ICONS = {
    "flow": "flow", "data": "data", "network": "network", "ai": "ai", "files": "files",
    "human": "human", "utility": "utility", "code": "code", "text": "text", "tools": "tools",
}


def icon_path(name: str) -> Path:
    path = ICON_DIR / f"{name}.svg"
    return path if path.exists() else ICON_DIR / "other.svg"


@functools.cache
def _source(name: str) -> str:
    """An icon's SVG file, read once per process (the files ship with the editor)."""
    return icon_path(name).read_text(encoding="utf-8")


def svg_text(name: str, color: QColor | str) -> bytes:
    """The SVG source of an icon with `currentColor` replaced by `color`."""
    hex_color = QColor(color).name()
    return _source(name).replace("currentColor", hex_color).encode("utf-8")


class _SvgEngine(QIconEngine):
    """Renders one tinted SVG at any size; faded when disabled."""

    def __init__(self, data: bytes) -> None:
        super().__init__()
        self._data = data
        # parsed when first drawn: most icons (menus, hidden panels) are not in the first frame
        self._renderer: QSvgRenderer | None = None

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        if self._renderer is None:
            self._renderer = QSvgRenderer(QByteArray(self._data))
        painter.save()
        if mode == QIcon.Mode.Disabled:
            painter.setOpacity(0.38)
        side = min(rect.width(), rect.height())
        target = QRectF(rect.x() + (rect.width() - side) / 2,
                        rect.y() + (rect.height() - side) / 2, side, side)
        self._renderer.render(painter, target)
        painter.restore()

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        image = QImage(size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.paint(painter, QRect(0, 0, size.width(), size.height()), mode, state)
        painter.end()
        return QPixmap.fromImage(image)

    def scaledPixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State,  # noqa: N802
                     scale: float) -> QPixmap:
        pixmap = self.pixmap(QSize(round(size.width() * scale), round(size.height() * scale)),
                             mode, state)
        pixmap.setDevicePixelRatio(scale)
        return pixmap

    def clone(self) -> QIconEngine:
        return _SvgEngine(self._data)

    def key(self) -> str:
        return "flowloom-svg"


def icon(name: str, color: QColor | str = "#c8ccd4") -> QIcon:
    """The icon `name` (a file in resources/icons without `.svg`) drawn in `color`."""
    return QIcon(_SvgEngine(svg_text(name, color)))


def category_icon(category: str, color: QColor | str = "#c8ccd4") -> QIcon:
    return icon(CATEGORY_ICONS.get(category.strip().lower(), "other"), color)
