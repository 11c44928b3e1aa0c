"""The Timeline dock: a Gantt chart of node executions (pyqtgraph).

All bars are drawn by ONE graphics item (`BarsItem`, a rect list per colour), created once and
given new rects on each refresh; rows are labelled on the left axis (node title + loop
iteration). Running bars grow on the refresh timer; the critical path is outlined once the run
ends; hovering a bar highlights every bar of its node and emits `node_hovered`, clicking emits
`node_selected`. The view follows the run (auto-range at most twice a second) until the user
pans or zooms it.
"""

from __future__ import annotations

import math
import time
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QVBoxLayout, QWidget

from builder.panels.common import (
    elide,
    fmt_seconds,
    iteration_label,
    node_labels,
    node_title,
    plot_widget,
    restyle,
)
from builder.panels.timeline_model import Bar, TimelineModel
from builder.theme import Theme
from engine.runfold import RunFold

BAR_HEIGHT = 0.7
MAX_LABELLED_ROWS = 40
LABEL_PX = 15.0  # the least room a row name needs on the left axis, in pixels
RANGE_EVERY_S = 0.5  # the rows followed turn a page at most this often while running
SPAN_FIRST_S, SPAN_GROWTH = 1.0, 2.0  # while running, the time axis shows at least 1 s and,
# when a bar reaches its end, twice the time so far (a few axis layouts per run, not one per
# redraw)
FOLLOW_ROWS = 30  # while following a long run, show the newest rows
MIN_BAR = 0.004  # the narrowest bar drawn, as a share of the run's length so far
ADVANCE_BUDGET_S = 0.002  # the critical path's pass at most this long per live redraw


class BarsItem(pg.GraphicsObject):
    """Every bar of the timeline in one item: rects grouped by fill colour, plus outlines."""

    def __init__(self) -> None:
        super().__init__()
        self.groups: list[tuple[QColor, list[QRectF]]] = []
        self.outlines: list[tuple[QPen, list[QRectF]]] = []
        self._bounds = QRectF()

    def set_rects(self, groups: list[tuple[QColor, list[QRectF]]],
                  outlines: list[tuple[QPen, list[QRectF]]],
                  bounds: QRectF | None = None) -> None:
        """New bars; `bounds` (when the caller knows it) spares uniting every rect."""
        if bounds is None:
            bounds = QRectF()
            for _, rects in groups:
                for rect in rects:
                    bounds = bounds.united(rect)
        if bounds != self._bounds:
            self.prepareGeometryChange()
            self._bounds = bounds
        self.groups, self.outlines = groups, outlines
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt override)
        return self._bounds

    def paint(self, painter: QPainter, *_: Any) -> None:
        painter.setPen(Qt.PenStyle.NoPen)
        for color, rects in self.groups:
            painter.setBrush(color)
            painter.drawRects(rects)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for pen, rects in self.outlines:
            painter.setPen(pen)
            painter.drawRects(rects)


class _Leave(QObject):
    """Tells the panel when the pointer leaves the plot (hover ends)."""

    def __init__(self, panel: TimelinePanel) -> None:
        super().__init__(panel)
        self.panel = panel

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Leave:
            self.panel.hover_bar(None)
        return False


class TimelinePanel(QWidget):
    node_hovered = Signal(str)
    node_selected = Signal(str)

    def __init__(self, theme: Theme, parent: QWidget | None = None,
                 clock: Any = time.monotonic) -> None:
        super().__init__(parent)
        self.theme = theme
        self.clock = clock
        self.model = TimelineModel()
        self._labels_of: Any = None  # the compiled workflow _labels were made for
        self._labels: dict[str, str] = {}
        self.plot = plot_widget(theme)
        self.plot.setObjectName("TimelinePlot")
        item = self.plot.getPlotItem()
        item.invertY(True)
        item.setLabel("bottom", "seconds since start")
        item.getAxis("bottom").enableAutoSIPrefix(False)
        # major and minor grid lines, not pyqtgraph's third level as well: a tenth of the
        # lines (the faint ones, dense in the light theme), and the time axis laid out again
        # — a few times per run — in ~5.5 ms instead of ~8.5 on a slow machine
        item.getAxis("bottom").setStyle(maxTickLevel=1)
        item.getAxis("left").setWidth(150)
        self.view = item.getViewBox()
        self.view.disableAutoRange()
        self.view.setMouseEnabled(x=True, y=True)
        self.bars = BarsItem()
        item.addItem(self.bars)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self.highlighted = ""  # node id whose bars are outlined (hover, here or on the canvas)
        self.hovered: Bar | None = None
        self.following = True
        self._drawn_version = -1
        self._last_range = 0.0
        self._rows_labelled = -1
        self._label_step = 1  # every how many rows a name is shown (see _label_rows)
        self.wall_clock = time.monotonic  # what the redraw throttles go by (a test's own)
        self._relabel = False  # the view turned a page of rows: label them with it
        self._labelled_at = 0.0
        self._span = 0.0  # the seconds the view shows (grows in steps while following)
        self._starting = False  # reset for a run that has not started: its first view shown
        self._shown: tuple[float, float] = (0.0, -1.0)  # (span, bottom row) last set
        # the rects of ended bars, by status, kept between redraws (see refresh)
        self._least = 0.0  # the narrowest bar drawn, seconds
        self._cached_of: Any = None  # the bars list the cache is of
        self._ended: dict[str, list[QRectF]] = {}
        # each ended bar's (start, top, length) by status: its rect made again in one pass
        # when the narrowest width changes (the span grew), not through bar_rect per bar
        self._ended_geo: dict[str, list[tuple[float, float, float]]] = {}
        self._ended_ids: set[int] = set()
        self._open_rows: list[int] = []
        self._cached_upto = 0
        self.view.sigRangeChangedManually.connect(self._user_moved)
        self.view.sigRangeChanged.connect(self._range_changed)
        self.view.sigResized.connect(self._range_changed)
        scene = self.plot.scene()
        scene.sigMouseMoved.connect(self._mouse_moved)
        scene.sigMouseClicked.connect(self._mouse_clicked)
        self.plot.viewport().installEventFilter(_Leave(self))
        self.plot.viewport().setMouseTracking(True)

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        restyle(self.plot, [self.plot.getPlotItem()], theme)
        self._drawn_version = -1  # bars in the new state colours on the next refresh
        self.refresh()

    # --- feeding ------------------------------------------------------------------------
    def reset(self, compiled: Any, fold: RunFold | None = None) -> None:
        """Show a new run: `fold` is the run's (None: one of the panel's own, fed by `feed`)."""
        self.model.reset(compiled, fold)
        self.highlighted, self.hovered, self.following = "", None, True
        self._drawn_version, self._last_range, self._rows_labelled = -1, 0.0, -1
        self._span, self._shown, self._least = 0.0, (0.0, -1.0), 0.0
        self._cached_of = None
        # a run's fold, not started yet: the view it will start in, at once — not the empty
        # run's 0.05 s, then 1 s at the first redraw (both axes laid out twice more per run)
        self._starting = fold is not None and self.model.t0 is None
        if self._starting:
            self._span, self._shown = SPAN_FIRST_S, (SPAN_FIRST_S, FOLLOW_ROWS - 0.5)
            self.view.setRange(xRange=(0.0, SPAN_FIRST_S), yRange=(-0.5, FOLLOW_ROWS - 0.5),
                               padding=0.0)
        self.refresh()

    def feed(self, batch: list[Any]) -> None:
        self.model.feed(batch)  # (only the panel's own fold: a run view's fold is fed once)

    def now(self) -> float:
        """The current time in seconds since the run started (the run's end once it ended)."""
        model = self.model
        if model.finished_at is not None:
            return model.finished_at
        return model.rel(self.clock()) if model.t0 is not None else 0.0

    # --- drawing ------------------------------------------------------------------------
    def bar_rect(self, bar: Bar, now: float | None = None) -> QRectF:
        now = self.now() if now is None else now
        least = self._least if self._least > 0 else max(now, 0.05) * MIN_BAR
        return QRectF(bar.start, bar.row - BAR_HEIGHT / 2, max(bar.length(now), least),
                      BAR_HEIGHT)

    def refresh(self) -> None:
        """Redraw if something changed or a bar is still growing (called on the panels' timer).

        Only the bars still running (and those that ended since the last redraw) are measured
        again: an ended bar keeps its rect, grouped by its colour, until the narrowest width
        drawn changes (that follows the span shown, which grows in steps) — so a redraw of a
        1 000-bar run costs a few rects, not a thousand."""
        model = self.model
        if model.version == self._drawn_version and not model.running:
            return
        now = self.now()
        self._follow(now)
        least = max(self._span, 0.05) * MIN_BAR
        if model.bars is not self._cached_of or len(model.bars) < self._cached_upto:
            self._least, self._cached_of = least, model.bars
            self._ended, self._ended_geo, self._ended_ids, self._cached_upto = {}, {}, set(), 0
            self._open_rows = []
        elif least != self._least:  # the same bars, a new narrowest width: one pass each
            self._least = least
            self._ended = {status: [QRectF(x, y, w if w > least else least, BAR_HEIGHT)
                                    for x, y, w in geo]
                           for status, geo in self._ended_geo.items()}
        ended, ended_geo, ended_ids = self._ended, self._ended_geo, self._ended_ids
        running: dict[str, list[QRectF]] = {}
        bars = model.bars
        top = BAR_HEIGHT / 2
        # bars before _cached_upto that were open last time are the only ones to look at again
        for i in [*self._open_rows, *range(self._cached_upto, len(bars))]:
            bar = bars[i]
            if bar.end is not None and i not in ended_ids:
                x, y, w = bar.start, bar.row - top, bar.end - bar.start
                ended.setdefault(bar.status, []).append(
                    QRectF(x, y, w if w > least else least, BAR_HEIGHT))
                ended_geo.setdefault(bar.status, []).append((x, y, w))
                ended_ids.add(i)
        self._open_rows = [i for i in [*self._open_rows, *range(self._cached_upto, len(bars))]
                           if i not in ended_ids]
        self._cached_upto = len(bars)
        for i in self._open_rows:
            bar = bars[i]
            running.setdefault(bar.status, []).append(self.bar_rect(bar, now))
        groups: dict[str, list[QRectF]] = {s: list(r) for s, r in ended.items()}
        for status, rects in running.items():
            groups.setdefault(status, []).extend(rects)
        hovered = [self.bar_rect(b, now) for b in bars if b.node_id == self.highlighted] \
            if self.highlighted else []
        if model.finished_at is not None:
            critical = [self.bar_rect(b, now) for b in model.critical_path()]
        else:
            critical = []
            if model.running:
                # (the path's pass, carried over the bars ended so far, a few ms a redraw)
                model.advance(ADVANCE_BUDGET_S)
        outline_critical = QPen(self.theme.accent, 2)
        outline_critical.setCosmetic(True)
        outline_hover = QPen(self.theme.text, 2)
        outline_hover.setCosmetic(True)
        state = {"retrying": "waiting"}
        # every bar ends by now (a sliver at most `least` past it): no need to unite 1 000 rects
        bounds = QRectF(0.0, -BAR_HEIGHT / 2, max(now, 0.0) + least, len(bars)) \
            if bars else QRectF()
        self.bars.set_rects(
            [(self.theme.state_color(state.get(s, s)), rects) for s, rects in groups.items()],
            [(outline_critical, critical), (outline_hover, hovered)], bounds)
        self._drawn_version = model.version
        self._label_rows()

    def _label_rows(self) -> None:
        """Row names on the left axis: while a run adds rows, when the view turns a page
        (new ticks make pyqtgraph measure and lay out every label again, ~7 ms), else when
        the rows changed."""
        bars = self.model.bars
        if len(bars) == self._rows_labelled:
            return
        wall = self.wall_clock()
        if self.model.running and self._rows_labelled >= 0 and not self._relabel \
                and (self.following or wall - self._labelled_at < RANGE_EVERY_S):
            return
        self._relabel, self._labelled_at = False, wall
        step = self._label_step = self._step_for_view()
        ticks = [(b.row, self.row_label(b)) for b in bars[::step]]
        self.plot.getPlotItem().getAxis("left").setTicks([ticks, []])
        self._rows_labelled = len(bars)

    def _step_for_view(self) -> int:
        """Every how many rows a name goes on the axis: at most MAX_LABELLED_ROWS names, and
        no two closer than LABEL_PX on screen at the rows the view shows (a small window, or
        the whole of a long run fitted, would otherwise print them over each other)."""
        count = len(self.model.bars)
        (_x, (low, high)) = self.view.viewRange()
        pixels = self.view.height()
        crowded = math.ceil(LABEL_PX * (high - low) / pixels) if pixels > 0 else 1
        return max(1, count // MAX_LABELLED_ROWS, crowded)

    def _range_changed(self, *_: Any) -> None:
        """Zoomed, fitted or resized: the names spaced again if they would now crowd (or
        leave room for more). While a run adds rows, _label_rows' own pace decides."""
        if self.model.running or self._rows_labelled < 0:
            return
        if self._step_for_view() != self._label_step:
            self._rows_labelled = -1
            self._label_rows()

    def row_label(self, bar: Bar) -> str:
        if self._labels_of is not self.model.compiled:
            self._labels_of, self._labels = self.model.compiled, node_labels(self.model.compiled)
        label = elide(self._labels.get(bar.node_id)
                      or node_title(self.model.compiled, bar.node_id))
        if bar.iteration:
            label += " " + iteration_label(bar.iteration)
        return label

    def _follow(self, now: float) -> None:
        """Keep the run in view. While it runs the range moves in steps — the time axis grows
        by half again when a bar reaches its end, the rows jump by two thirds of a page — so
        pyqtgraph lays its axes out again a few times per run, not at every redraw."""
        if not self.following:
            self._span = max(self._span, 0.05)
            return
        model = self.model
        rows = len(model.bars)
        if self._starting and model.t0 is None:
            return  # (the view set at reset: the run has not started)
        self._starting = False
        if not model.running:
            span = max(now, 0.05) * 1.04
            if (span, rows) == self._shown:
                return
            self._span, self._shown = span, (span, rows)
            self.view.setRange(xRange=(0.0, span), yRange=(-0.5, max(rows, 1) - 0.5),
                               padding=0.0)
            return
        wall = self.wall_clock()
        grow = max(now, 0.05) * 1.04 > self._span
        bottom = self._shown[1]
        page = rows - 0.5 > bottom and wall - self._last_range >= RANGE_EVERY_S
        if not grow and not page:
            return
        if grow and page:  # one axis laid out again per redraw (each 5-10 ms on a slow
            page = False  # machine, together the longest paint of a run): rows at the next
        if grow:  # (each step makes pyqtgraph lay the time axis and its grid out: ~10 ms)
            self._span = max(SPAN_FIRST_S, now * SPAN_GROWTH)
        if page:  # the newest rows, and their names (labelled with the page, not apart)
            self._last_range = wall
            top = max(-0.5, rows - FOLLOW_ROWS * 2 // 3 - 0.5)
            bottom = top + FOLLOW_ROWS
            self._relabel = True
        self._shown = (self._span, bottom)
        self.view.setRange(xRange=(0.0, self._span), yRange=(bottom - FOLLOW_ROWS, bottom),
                           padding=0.0)

    def _user_moved(self, *_: Any) -> None:
        self.following = False

    def fit(self) -> None:
        """Show the whole run again and follow it."""
        self.following, self._last_range, self._starting = True, 0.0, False
        self._shown, self._span = (0.0, -1.0), 0.0
        self._drawn_version = -1
        self.refresh()

    # --- pointer ------------------------------------------------------------------------
    def bar_at(self, x: float, y: float) -> Bar | None:
        """The bar under a point in data coordinates (x seconds, y row)."""
        row = round(y)
        bars = self.model.bars
        if not 0 <= row < len(bars) or abs(y - row) > BAR_HEIGHT / 2:
            return None
        bar = bars[row]
        now = self.now()
        slack = max(now, 0.05) * 0.005  # a few pixels, so short bars can be hovered
        return bar if bar.start - slack <= x <= bar.start + bar.length(now) + slack else None

    def _mouse_moved(self, scene_pos: Any) -> None:
        point = self.view.mapSceneToView(scene_pos)
        self.hover_bar(self.bar_at(point.x(), point.y()))

    def hover_bar(self, bar: Bar | None) -> None:
        if bar is self.hovered:
            return
        self.hovered = bar
        node_id = bar.node_id if bar is not None else ""
        self.plot.setToolTip(self._tooltip(bar) if bar is not None else "")
        if node_id != self.highlighted:
            self.set_highlight(node_id)
            self.node_hovered.emit(node_id)

    def set_highlight(self, node_id: str) -> None:
        """Outline every bar of a node ("" for none), e.g. when the canvas hovers it."""
        self.highlighted = node_id
        self._drawn_version = -1
        self.refresh()

    def _mouse_clicked(self, event: Any) -> None:
        point = self.view.mapSceneToView(event.scenePos())
        bar = self.bar_at(point.x(), point.y())
        if bar is not None:
            self.node_selected.emit(bar.node_id)

    def _tooltip(self, bar: Bar) -> str:
        status = bar.status + (" (cached)" if bar.cached else "")
        attempts = f", {bar.attempts} attempts" if bar.attempts > 1 else ""
        return (f"{self.row_label(bar)}\n{status}{attempts}\n"
                f"{fmt_seconds(bar.length(self.now()))} from {bar.start:.2f} s")
