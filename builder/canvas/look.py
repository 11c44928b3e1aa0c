"""Paint resources shared by every canvas item: fonts, metrics, pens, brushes and icon pixmaps.

Built once per theme (not per item or per paint), so `paint()` only looks things up. Sizes of the
node layout live here too, so node items, wires and gestures agree on them.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QGuiApplication, QPen, QPixmap

from builder.icons import category_icon
from builder.theme import Theme

HEADER_H = 26.0
SUMMARY_H = 18.0
ROW_H = 20.0
PAD = 10.0
PORT_R = 4.5
RADIUS = 7.0
MIN_W = 140.0
TITLE_SLACK = 0.5  # px a character: room for kerning in Look.title_bound
MAX_TEXT_W = 240.0
ICON = 14.0
GRID = 20.0
TITLE_SCALE = 1.15  # node titles against the platform font
# Where a node dropped or quick-added lands relative to the cursor: the header's middle-left.
DROP_OFFSET = (-MIN_W / 2, -HEADER_H / 2)


class Look:
    """Everything a canvas item needs to paint itself for one theme."""

    def __init__(self, theme: Theme) -> None:
        self.theme = theme
        base = QGuiApplication.font()
        self.title_font = QFont(base)
        self.title_font.setBold(True)
        if base.pointSizeF() > 0:  # a heading: a step above the platform size (#13)
            self.title_font.setPointSizeF(base.pointSizeF() * TITLE_SCALE)
        self.label_font = QFont(base)
        self.summary_font = QFont(base)
        self.summary_font.setFamilies(["DejaVu Sans Mono", "Menlo", "Consolas", "monospace"])
        self.summary_font.setStyleHint(QFont.StyleHint.Monospace)
        size = base.pointSizeF() if base.pointSizeF() > 0 else 10.0
        self.summary_font.setPointSizeF(max(size - 1.0, 8.0))
        self.badge_font = QFont(base)
        self.badge_font.setBold(True)
        self.badge_font.setPointSizeF(max(size - 1.0, 8.0))
        self.title_metrics = QFontMetricsF(self.title_font)
        self.label_metrics = QFontMetricsF(self.label_font)
        self.summary_metrics = QFontMetricsF(self.summary_font)

        t = theme
        self.body_brush = QBrush(t.node_body)
        self.border_pen = QPen(t.node_border, 1.2)
        self.hover_pen = QPen(t.text_dim, 1.4)
        self.selected_pen = QPen(t.selection, 2.2)
        self.shadow_brush = QBrush(t.node_shadow)
        self.text_pen = QPen(t.text)
        self.dim_pen = QPen(t.text_dim)
        self.problem_brush = QBrush(t.problem)
        self.no_pen = QPen(Qt.PenStyle.NoPen)
        self.port_pen = QPen(t.node_body.darker(160) if t.dark else t.node_border, 1.2)
        self.glow_pen = QPen(t.accent, 2.5)
        self._headers: dict[str, QBrush] = {}
        self._icons: dict[str, QPixmap] = {}
        self._ports: dict[str, QBrush] = {}
        self._wire_pens: dict[tuple[str, str, bool], QPen] = {}
        self._advances: dict[str, float] = {}
        # text measured once per theme: titles, summaries and port layouts repeat across a
        # workflow (a 2 000-node file measured the same few strings thousands of times)
        self._titles: dict[str, tuple[str, float]] = {}
        self._title_chars: dict[str, float] = {}  # one ASCII character's advance in a title
        self._summaries: dict[str, tuple[str, float]] = {}
        self._port_rows: dict[tuple, tuple] = {}
        self.node_layouts: dict[tuple, tuple] = {}  # builder/canvas/node_item.py's, per body
        self.loop_badge_brush = QBrush(t.accent.darker(110) if t.dark else t.accent)
        self.loop_arrow_pen = QPen(t.node_body if t.dark else QColor("white"), 1.8)
        self.unknown_header = QBrush(t.problem.darker(170))

    def header_brush(self, category: str) -> QBrush:
        brush = self._headers.get(category)
        if brush is None:
            brush = self._headers[category] = QBrush(self.theme.category_color(category))
        return brush

    def port_brush(self, port_type: str) -> QBrush:
        brush = self._ports.get(port_type)
        if brush is None:
            brush = self._ports[port_type] = QBrush(self.theme.port_color(port_type))
        return brush

    def wire_pen(self, port_type: str, state: str = "normal", back: bool = False) -> QPen:
        """The pen of a wire carrying `port_type` when normal/highlighted/selected/problem."""
        key = (port_type, state, back)
        pen = self._wire_pens.get(key)
        if pen is None:
            t = self.theme
            color, width = QColor(self.theme.port_color(port_type)), 2.2
            if state == "selected":
                color, width = QColor(t.selection), 4.0
            elif state == "problem":
                color = QColor(t.problem)
            elif state == "highlighted":
                color, width = (color.lighter(125) if t.dark else color.darker(120)), 3.2
            pen = QPen(color, width, Qt.PenStyle.DashLine if back else Qt.PenStyle.SolidLine,
                       Qt.PenCapStyle.RoundCap)
            self._wire_pens[key] = pen
        return pen

    def label_width(self, text: str) -> float:
        """Width of a port label (cached: the same few names repeat across a workflow)."""
        width = self._advances.get(text)
        if width is None:
            width = self._advances[text] = self.label_metrics.horizontalAdvance(text)
        return width

    def title_text(self, title: str, limit: float) -> tuple[str, float]:
        """A node title as drawn (elided past `limit`) and its width (cached per title)."""
        found = self._titles.get(title)
        if found is None:
            advance = self.title_metrics.horizontalAdvance(title)
            text = title
            if advance > limit:
                text = self.title_metrics.elidedText(title, Qt.TextElideMode.ElideRight, limit)
                advance = limit
            found = self._titles[title] = (text, advance)
        return found

    def title_bound(self, title: str) -> float:
        """An upper bound on `title_text(title)`'s width without shaping the text (shaping cost
        ~18 us a title: a third of a 2 000-node file's item build): the sum of its characters'
        own advances plus TITLE_SLACK a character for kerning. Only for ASCII titles, whose
        glyphs the title font itself has; any other title is unbounded here (infinity)."""
        if not title.isascii():
            return math.inf
        chars, metrics, total = self._title_chars, self.title_metrics, 0.0
        for ch in title:
            advance = chars.get(ch)
            if advance is None:
                advance = chars[ch] = metrics.horizontalAdvance(ch)
            total += advance
        return total + TITLE_SLACK * len(title)

    def summary_text(self, summary: str) -> tuple[str, float]:
        """A summary line as drawn (one line, elided past MAX_TEXT_W) and its width."""
        found = self._summaries.get(summary)
        if found is None:
            text = summary.replace("\n", " ") if "\n" in summary else summary
            width = self.summary_metrics.horizontalAdvance(text)
            if width > MAX_TEXT_W:
                text = self.summary_metrics.elidedText(text, Qt.TextElideMode.ElideRight,
                                                       MAX_TEXT_W)
                width = MAX_TEXT_W
            found = self._summaries[summary] = (text, width)
        return found

    def port_rows(self, inputs: tuple[str, ...], outputs: tuple[str, ...], top: float
                  ) -> tuple[dict[str, float], dict[str, float], float, float]:
        """(input name -> y, output name -> y, widest input label, widest output label) of a
        node's ports below `top`; shared by every node with the same ports (read-only)."""
        key = (inputs, outputs, top)
        found = self._port_rows.get(key)
        if found is None:
            label = self.label_width
            y0 = top + ROW_H / 2
            in_y = {name: y0 + i * ROW_H for i, name in enumerate(inputs)}
            out_y = {name: y0 + i * ROW_H for i, name in enumerate(outputs)}
            in_w = max((label(n) for n in inputs), default=0.0)
            out_w = max((label(n) for n in outputs), default=0.0)
            found = self._port_rows[key] = (in_y, out_y, in_w, out_w)
        return found

    def port_color(self, port_type: str) -> QColor:
        return self.theme.port_color(port_type)

    def icon(self, category: str, scale: float) -> QPixmap:
        """The category icon as a pixmap for a device scale (cached per category and scale)."""
        key = f"{category}@{scale:.2f}"
        pixmap = self._icons.get(key)
        if pixmap is None:
            side = max(1, round(ICON * scale))
            pixmap = category_icon(category, self.theme.text).pixmap(side, side)
            pixmap.setDevicePixelRatio(max(scale, 0.01))
            self._icons[key] = pixmap
        return pixmap
