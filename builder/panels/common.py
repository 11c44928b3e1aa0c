"""Small things every run panel shares: node labels, iteration labels, number formatting, and
pyqtgraph set-up (PySide6 binding, theme colours on a plot).

Node labels come from the compiled workflow the panels were given at run start (title, else id).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import pyqtgraph as pg  # noqa: E402  (the binding must be chosen before the import)
from PySide6.QtGui import QColor  # noqa: E402
from PySide6.QtWidgets import QGraphicsItem  # noqa: E402

from builder.theme import Theme  # noqa: E402

LEVELS = ("debug", "info", "warning", "error")


def node_title(compiled: Any, node_id: str) -> str:
    """The title of a node as the user named it, else its id; "" names the run itself."""
    if not node_id:
        return "run"
    workflow = getattr(compiled, "workflow", None)
    node = workflow.nodes.get(node_id) if workflow is not None else None
    return (node.title or node_id) if node is not None else node_id


def node_labels(compiled: Any) -> dict[str, str]:
    """Every node's label for the panels: its title, or "Title (id)" when another node has the
    same title (two "Delay" nodes read "Delay (delay_1)" and "Delay (delay_2)"). Made once per
    run: the panels look labels up per row."""
    workflow = getattr(compiled, "workflow", None)
    if workflow is None:
        return {}
    titles = {nid: node.title or nid for nid, node in workflow.nodes.items()}
    seen: dict[str, int] = {}
    for title in titles.values():
        seen[title] = seen.get(title, 0) + 1
    return {nid: f"{t} ({nid})" if seen[t] > 1 and t != nid else t for nid, t in titles.items()}


def iteration_label(iteration: tuple[int, ...]) -> str:
    """`[2]` for the third iteration, `[2.0]` nested, "" outside loops (shown 0-based)."""
    return f"[{'.'.join(str(i) for i in iteration)}]" if iteration else ""


def elide(text: str, limit: int = 22) -> str:
    """A label cut to `limit` characters (axis labels that do not fit are dropped by pyqtgraph)."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def fmt_seconds(value: float | None) -> str:
    if value is None:
        return "–"
    if value < 1.0:
        return f"{value * 1000:.0f} ms"
    if value < 120:
        return f"{value:.2f} s"
    return f"{value / 60:.1f} min"


def fmt_rate(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def style_plot(plot: pg.PlotItem, theme: Theme) -> None:
    """Theme colours on a plot's axes and background (no pyqtgraph default black/grey)."""
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        axis.setPen(pg.mkPen(theme.grid_major))
        axis.setTextPen(pg.mkPen(theme.text_dim))
        # An axis replays its labels and grid lines (a QPicture) at every repaint of the plot:
        # 4 times a second during a big run. Cached, it is redrawn only when it changes.
        axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    plot.showGrid(x=True, y=False, alpha=0.15)


def restyle(widget: Any, plots: Any, theme: Theme) -> None:
    """Another theme: a plot widget's background, axes and titles in its colours."""
    widget.setBackground(QColor(theme.background))
    for plot in plots:
        style_plot(plot, theme)
        if plot.titleLabel.text:
            plot.titleLabel.setText(plot.titleLabel.text, color=theme.text_dim.name())


def plot_widget(theme: Theme) -> pg.PlotWidget:
    widget = pg.PlotWidget(background=QColor(theme.background))
    widget.setMenuEnabled(False)
    style_plot(widget.getPlotItem(), theme)
    return widget


def plural(count: int, noun: str, many: str | None = None) -> str:
    """"1 run", "2 runs" (`many` for irregular plurals)."""
    return f"{count} {noun if count == 1 else (many or noun + 's')}"


def workflow_label(path: str, name: str = "") -> str:
    """How History and Analytics name a workflow: a saved one after its file (the name inside
    stays "Untitled" until someone renames it), an unsaved one by its title."""
    if path:
        return Path(path).name
    return f"{name or 'Untitled'} (unsaved)"
