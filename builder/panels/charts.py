"""The Charts dock: running/finished counts over time, per-node duration bars, and the CPU and
memory of this process (psutil, sampled at ~2 Hz while a run is live).

One GraphicsLayoutWidget holds four plots whose items are created once and updated in place
(`setData` / `setOpts`) from preallocated numpy buffers; counts are appended per event batch
(exact), drawn on the panels' timer; auto-range is throttled to twice a second.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import psutil
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtGui import QFont, QFontMetricsF
from PySide6.QtWidgets import QSizePolicy, QVBoxLayout, QWidget

from builder.panels.common import elide, node_labels, node_title, restyle, style_plot
from builder.panels.timeline import BarsItem
from builder.theme import Theme
from engine import events as ev
from engine.runfold import RunFold

SAMPLE_MS = 500  # CPU / memory sampling (~2 Hz)
RANGE_EVERY_S = 0.5
BARS_EVERY_S = 0.5  # duration bars (and their labels) are redrawn at most twice a second live
LEGEND_STATES = ("succeeded", "failed", "running", "cancelled")
LEGEND_H = 22  # the legends' row: one line of entries
MAX_LABELS = 40  # node names on the duration axis (every n-th one past that)


class Series:
    """A growing (x, y) buffer: numpy arrays doubled when full, views handed to setData."""

    def __init__(self, capacity: int = 256) -> None:
        self.x = np.zeros(capacity)
        self.y = np.zeros(capacity)
        self.n = 0

    def clear(self) -> None:
        self.n = 0

    def append(self, x: float, y: float) -> None:
        if self.n == len(self.x):
            self.x = np.concatenate([self.x, np.zeros(len(self.x))])
            self.y = np.concatenate([self.y, np.zeros(len(self.y))])
        self.x[self.n], self.y[self.n] = x, y
        self.n += 1

    def data(self) -> tuple[np.ndarray, np.ndarray]:
        return self.x[:self.n], self.y[:self.n]


class ChartsPanel(QWidget):
    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self.compiled: Any = None
        self.labels: dict[str, str] = {}
        self.layout_widget = pg.GraphicsLayoutWidget()
        self.layout_widget.setBackground(theme.background)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.layout_widget)
        grid = self.layout_widget
        # Legends sit in a row of their own above the plots, never inside them: inside, they
        # covered the lines they name (in the light theme with nothing behind their text).
        self.counts_legend = self._legend(0, 0, 2)
        self.durations_legend = self._legend(0, 1, len(LEGEND_STATES))
        self.layout_widget.ci.layout.setRowFixedHeight(0, LEGEND_H)
        self.counts_plot = grid.addPlot(row=1, col=0, title="Nodes running / done")
        self.durations_plot = grid.addPlot(row=1, col=1, title="Duration per node (s)")
        self.cpu_plot = grid.addPlot(row=2, col=0, title="CPU % (this process)")
        self.memory_plot = grid.addPlot(row=2, col=1, title="Memory MB (this process)")
        self.plots = (self.counts_plot, self.durations_plot, self.cpu_plot, self.memory_plot)
        for plot in self.plots:
            style_plot(plot, theme)
            plot.setMenuEnabled(False)
            plot.titleLabel.setAttr("color", theme.text_dim.name())
            plot.disableAutoRange()
            plot.setClipToView(True)
            plot.setDownsampling(mode="peak")
        self.durations_plot.invertY(True)
        self.durations_plot.getAxis("left").setWidth(130)
        for plot in self.plots:
            plot.getAxis("bottom").enableAutoSIPrefix(False)
        self.running = Series()
        self.done = Series()
        self.cpu = Series()
        self.memory = Series()
        states = theme.state_color
        # every state a duration bar can have, named in the legend (colours match the canvas);
        # the keys are samples for the legend only, never added to a plot
        self.state_keys = {}
        for state in LEGEND_STATES:
            # a ScatterPlotItem: a PlotDataItem with no data gave its sample the default
            # brush, so every state's square had the same colour
            key = pg.ScatterPlotItem(symbol="s", size=10, pen=None,
                                     brush=theme.state_color(state), name=state)
            self.durations_legend.addItem(key, state)
            self.state_keys[state] = key
        self.running_curve = self._curve(self.counts_plot, states("running"), "running", True)
        self.done_curve = self._curve(self.counts_plot, states("succeeded"), "done", True)
        for curve, name in ((self.running_curve, "running"), (self.done_curve, "done")):
            self.counts_legend.addItem(curve, name)
        self.cpu_curve = self._curve(self.cpu_plot, theme.accent, "cpu")
        self.memory_curve = self._curve(self.memory_plot, theme.port_color("dict"), "memory")
        # one item for every bar, a rect list per state colour (a BarGraphItem with a brush per
        # bar made 1 000 brushes and repainted them one by one on every redraw)
        self.duration_bars = BarsItem()
        self.durations_plot.addItem(self.duration_bars)
        self.durations_plot.getViewBox().sigResized.connect(self._label_axis)
        self._bar_widths: dict[str, float] = {}  # what the bars show, node id -> seconds
        self._bars_drawn = 0.0
        self.durations: dict[str, float] = {}  # node id -> seconds (summed over iterations)
        self.status: dict[str, str] = {}
        self.fold = RunFold()  # the run shown (the run view's, or the panel's own)
        self._own = True
        self._counted = 0  # of fold.counts, appended to the series so far
        self._sampled_end = False
        self.dirty = False
        self.bars_dirty = False  # the duration bars changed (redrawn only then)
        self._last_range = 0.0
        self._process = psutil.Process()
        self._sample_t0 = time.monotonic()
        self.sampler = QTimer(self)
        self.sampler.setInterval(SAMPLE_MS)
        self.sampler.timeout.connect(self.sample)

    def _legend(self, row: int, col: int, columns: int) -> pg.LegendItem:
        legend = pg.LegendItem(colCount=columns, labelTextColor=self.theme.text_dim,
                               verSpacing=-4, horSpacing=16)
        legend.layout.setContentsMargins(4, 0, 4, 0)  # the style's margins doubled its height
        legend.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.layout_widget.addItem(legend, row=row, col=col)
        # its own height, at the plot's left (not stretched over the column, not centred)
        self.layout_widget.ci.layout.setAlignment(
            legend, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom)
        return legend

    def _curve(self, plot: pg.PlotItem, color: Any, name: str,
               step: bool = False) -> pg.PlotCurveItem:
        # counts change at events and hold until the next one: draw them as steps
        curve = pg.PlotCurveItem(pen=pg.mkPen(color, width=2), stepMode="left" if step else None,
                                 name=name)
        plot.addItem(curve)
        return curve

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        restyle(self.layout_widget, self.plots, theme)
        states = theme.state_color
        self.running_curve.setPen(pg.mkPen(states("running"), width=2))
        self.done_curve.setPen(pg.mkPen(states("succeeded"), width=2))
        self.cpu_curve.setPen(pg.mkPen(theme.accent, width=2))
        self.memory_curve.setPen(pg.mkPen(theme.port_color("dict"), width=2))
        for state, key in self.state_keys.items():
            key.setBrush(states(state))
        for legend in (self.counts_legend, self.durations_legend):
            legend.setLabelTextColor(theme.text_dim)
            legend.update()
        self.dirty = self.bars_dirty = True
        self._bars_drawn = 0.0
        self.refresh()

    # --- feeding ------------------------------------------------------------------------
    def reset(self, compiled: Any, *, live: bool = True, fold: RunFold | None = None,
              redraw: bool = True) -> None:
        """Show a new run: `fold` is the run's (None: one of the panel's own, fed by `feed`);
        `redraw=False`: not now (out of sight: the caller redraws it when it is shown)."""
        self.compiled = compiled
        self._own = fold is None
        if fold is None:
            fold = RunFold()
            fold.reset(compiled.workflow if compiled is not None else None)
        self.fold, self._counted, self._sampled_end = fold, 0, False
        self.labels = node_labels(compiled)
        for series in (self.running, self.done, self.cpu, self.memory):
            series.clear()
        self.durations, self.status = {}, {}
        self.bars_dirty = True
        self._sample_t0, self._last_range, self._bars_drawn = time.monotonic(), 0.0, 0.0
        self.dirty = True
        if live:
            self._process.cpu_percent(None)  # the first reading is meaningless: prime it
            self.sample()
            self.sampler.start()
        else:
            self.sampler.stop()
        if redraw:
            self.refresh()

    def feed(self, batch: list[Any]) -> None:
        """A batch arrived: the counts and durations are read from the fold (fed here only
        when it is the panel's own)."""
        fold = self.fold
        if self._own:
            fold.feed(batch)
        counts = fold.counts
        if len(counts) > self._counted:
            for t, executing, ended in counts[self._counted:]:
                self.running.append(t, executing)
                self.done.append(t, ended)
            self._counted = len(counts)
            self.dirty = True
        for nid in dict.fromkeys(e.node_id for e in batch
                                 if isinstance(e, (ev.NodeFinished, ev.NodeFailed))):
            state = fold.nodes.get(nid)
            if state is not None:
                self.durations[nid] = state.total_s
                self.status[nid] = state.outcome
                self.bars_dirty = True
        if fold.finished is not None and not self._sampled_end:
            self._sampled_end = True
            if self.sampler.isActive():
                self.sample()  # a last reading, so even a short run draws a line
                self.sampler.stop()

    def finish(self, result: Any) -> None:
        """Durations from the RunResult's NodeRuns (the engine's own totals per node)."""
        self.sampler.stop()
        if result is not None:
            for nid, node_run in result.nodes.items():
                if node_run.runs or node_run.failures:
                    self.durations[nid] = node_run.duration_s
                    self.status[nid] = node_run.status
        self.dirty = self.bars_dirty = True
        self._last_range = 0.0
        # (no redraw here: RunPanels redraws it next, or when its dock is shown — a chart behind
        # another tab drawing 1 000 bars and their names cost the end of a run ~40 ms)

    def sample(self) -> None:
        """One CPU / memory reading of this process."""
        t = time.monotonic() - self._sample_t0
        self.cpu.append(t, self._process.cpu_percent(None))
        self.memory.append(t, self._process.memory_info().rss / 2**20)
        self.dirty = True

    # --- drawing ------------------------------------------------------------------------
    def refresh(self) -> None:
        if not self.dirty:
            return
        self.dirty = False
        self.running_curve.setData(*self.running.data())
        self.done_curve.setData(*self.done.data())
        self.cpu_curve.setData(*self.cpu.data())
        self.memory_curve.setData(*self.memory.data())
        wall = time.monotonic()
        if self.bars_dirty and (wall - self._bars_drawn >= BARS_EVERY_S
                                or not self.sampler.isActive()):
            self._bars_drawn = wall
            self._draw_bars()
        if wall - self._last_range >= RANGE_EVERY_S:
            self._last_range = wall
            for plot in self.plots:
                plot.getViewBox().autoRange(padding=0.05)

    def _draw_bars(self) -> None:
        self.bars_dirty = False
        ids = list(self.durations)
        groups: dict[str, list[QRectF]] = {}
        for row, nid in enumerate(ids):
            groups.setdefault(self.status.get(nid, "running"), []).append(
                QRectF(0.0, row - 0.35, self.durations[nid], 0.7))
        self.duration_bars.set_rects(
            [(self.theme.state_color(status), rects) for status, rects in groups.items()], [])
        self._bar_widths = {nid: self.durations[nid] for nid in ids}
        self._label_axis()

    def _label_axis(self, *_args: object) -> None:
        """Node names on the duration axis, no more than it has room for (also on resize:
        a chart drawn while its dock was hidden had no height to go by)."""
        ids = list(self._bar_widths)
        # no more names than the axis has room for: rows closer than a line of text overlap
        line = QFontMetricsF(self.durations_plot.getAxis("left").style.get(
            "tickFont") or QFont()).height() + 2
        height = self.durations_plot.getViewBox().height()
        room = max(1, int(height // line)) if height > 0 else MAX_LABELS
        step = max(1, -(-len(ids) // min(room, MAX_LABELS)))
        self.durations_plot.getAxis("left").setTicks(
            [[(i, elide(self.labels.get(n) or node_title(self.compiled, n), 18))
              for i, n in list(enumerate(ids))[::step]], []])

    def bar_data(self) -> dict[str, float]:
        """Node id -> the bar length shown (for tests and tooltips): drawn now, or at the next
        redraw when the chart waits for it (out of sight, or between live redraws)."""
        return dict(self.durations) if self.bars_dirty else dict(self._bar_widths)
