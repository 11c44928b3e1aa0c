"""The editor's colours: one `Theme` of QColors, dark (default), light, or following the system.

The canvas paints with it directly; builder/style.py turns it into the application's palette.
Category colours are muted (they tint node headers); one accent colour marks selection and focus;
state colours are the same everywhere a run is shown (canvas, timeline, history).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication

CATEGORIES = ("Flow", "Data", "Network", "AI", "Files", "Human", "Utility", "Code", "Text", "Tools")
PORT_TYPES = ("any", "str", "number", "bool", "list", "dict", "bytes")


def _colors(mapping: dict[str, str]) -> dict[str, QColor]:
    return {name: QColor(value) for name, value in mapping.items()}


@dataclass
class Theme:
    """The colours of one editor theme (light or dark)."""

    name: str
    dark: bool
    background: QColor
    grid: QColor
    grid_major: QColor
    node_body: QColor
    node_border: QColor
    node_shadow: QColor
    text: QColor
    text_dim: QColor
    accent: QColor
    selection: QColor
    wire: QColor
    frame_text: QColor
    problem: QColor
    categories: dict[str, QColor] = field(default_factory=dict)
    port_types: dict[str, QColor] = field(default_factory=dict)
    states: dict[str, QColor] = field(default_factory=dict)

    def category_color(self, category: str) -> QColor:
        """The header colour of a category (unknown categories get a neutral slate)."""
        return self.categories.get(category, self.categories.get("Other", self.node_border))

    def port_color(self, port_type: str) -> QColor:
        return self.port_types.get(port_type, self.port_types["any"])

    def state_color(self, state: str) -> QColor:
        return self.states.get(state, self.states["pending"])


_STATES = {"pending": "#7a808a", "running": "#3d8ef0", "succeeded": "#3fae6a",
           "failed": "#e0524d", "waiting": "#e0a43a", "skipped": "#6b6f76",
           "cancelled": "#b0616a"}

_PORTS_DARK = {"any": "#a4a9b3", "str": "#e3b95c", "number": "#62b0e8", "bool": "#e07a7a",
               "list": "#8fcf7c", "dict": "#b48ee8", "bytes": "#5fc8bd"}
_PORTS_LIGHT = {"any": "#6e7480", "str": "#b58616", "number": "#2a7fc2", "bool": "#c24848",
                "list": "#4f9a3c", "dict": "#7d55c7", "bytes": "#24958b"}

_CATEGORIES_DARK = {"Flow": "#4c5a78", "Data": "#3f6b5c", "Network": "#3d5f7d", "AI": "#6a4f7d",
                    "Files": "#6e6140", "Human": "#7a5246", "Utility": "#555a63",
                    "Code": "#4a6670", "Text": "#6b5a72", "Tools": "#5d6748", "Other": "#50545c"}
_CATEGORIES_LIGHT = {"Flow": "#9fb0d4", "Data": "#9cc7b6", "Network": "#9dbdd9", "AI": "#c3acd6",
                     "Files": "#d6c89e", "Human": "#dcb0a3", "Utility": "#b9bdc4",
                     "Code": "#a6c6d0", "Text": "#cbb9d2", "Tools": "#bfcaa4", "Other": "#bcc0c6"}


def dark_theme() -> Theme:
    return Theme(
        name="dark", dark=True,
        background=QColor("#1d1f23"), grid=QColor("#34373d"), grid_major=QColor("#43474e"),
        node_body=QColor("#2b2e34"), node_border=QColor("#15171a"),
        node_shadow=QColor(0, 0, 0, 90),
        text=QColor("#e6e8eb"), text_dim=QColor("#9aa0a9"),
        accent=QColor("#f0a030"), selection=QColor("#ffb53d"), wire=QColor("#a4a9b3"),
        frame_text=QColor("#d7dae0"), problem=QColor("#e0524d"),
        categories=_colors(_CATEGORIES_DARK), port_types=_colors(_PORTS_DARK),
        states=_colors(_STATES),
    )


def light_theme() -> Theme:
    return Theme(
        name="light", dark=False,
        background=QColor("#eef0f3"), grid=QColor("#cdd1d7"), grid_major=QColor("#b8bdc5"),
        node_body=QColor("#fbfbfc"), node_border=QColor("#9aa0a8"),
        node_shadow=QColor(0, 0, 0, 40),
        text=QColor("#1f2328"), text_dim=QColor("#5d636c"),
        accent=QColor("#d97f00"), selection=QColor("#e88a00"), wire=QColor("#6e7480"),
        frame_text=QColor("#2a2e34"), problem=QColor("#cc3b36"),
        categories=_colors(_CATEGORIES_LIGHT), port_types=_colors(_PORTS_LIGHT),
        states=_colors(_STATES),
    )


def system_theme() -> Theme:
    """Light when the platform says light, dark otherwise (also when it cannot tell)."""
    app = QGuiApplication.instance()
    if app is not None and QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Light:
        return light_theme()
    return dark_theme()
