"""Applies a `builder.theme.Theme` to the whole application: Fusion style, QPalette, a little QSS.

`theme_for(mode)` picks the Theme for "system" (the default: follows the platform's colour
scheme), "dark" or "light"; `apply_theme(app, theme)` makes every widget match the canvas. Font
sizes are never set below the platform default: the QSS only touches colours, borders, padding.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from builder.theme import Theme, dark_theme, light_theme, system_theme

MODES = ("system", "dark", "light")


def theme_for(mode: str) -> Theme:
    if mode == "dark":
        return dark_theme()
    if mode == "light":
        return light_theme()
    return system_theme()


def _mix(a: QColor, b: QColor, t: float) -> QColor:
    return QColor(round(a.red() + (b.red() - a.red()) * t),
                  round(a.green() + (b.green() - a.green()) * t),
                  round(a.blue() + (b.blue() - a.blue()) * t))


def surfaces(theme: Theme) -> dict[str, QColor]:
    """The panel colours derived from the canvas colours (docks sit a step off the canvas)."""
    towards = QColor("#ffffff") if theme.dark else QColor("#000000")
    return {
        "window": _mix(theme.background, towards, 0.05 if theme.dark else 0.03),
        "base": QColor(theme.background) if theme.dark else QColor("#ffffff"),
        "alt": _mix(theme.background, towards, 0.08),
        "button": _mix(theme.background, towards, 0.10 if theme.dark else 0.05),
        "border": _mix(theme.background, towards, 0.16),
        "title": _mix(theme.background, towards, 0.09 if theme.dark else 0.06),
    }


def make_palette(theme: Theme) -> QPalette:
    s = surfaces(theme)
    p = QPalette()
    role, group = QPalette.ColorRole, QPalette.ColorGroup
    p.setColor(role.Window, s["window"])
    p.setColor(role.WindowText, theme.text)
    p.setColor(role.Base, s["base"])
    p.setColor(role.AlternateBase, s["alt"])
    p.setColor(role.ToolTipBase, s["button"])
    p.setColor(role.ToolTipText, theme.text)
    p.setColor(role.PlaceholderText, theme.text_dim)
    p.setColor(role.Text, theme.text)
    p.setColor(role.Button, s["button"])
    p.setColor(role.ButtonText, theme.text)
    p.setColor(role.BrightText, theme.problem)
    p.setColor(role.Highlight, theme.accent)
    p.setColor(role.HighlightedText, QColor("#1a1a1a") if theme.dark else QColor("#ffffff"))
    p.setColor(role.Link, theme.accent)
    p.setColor(role.Mid, s["border"])
    p.setColor(role.Midlight, s["alt"])
    p.setColor(role.Dark, theme.node_border)
    p.setColor(role.Shadow, theme.node_shadow)
    for r in (role.WindowText, role.Text, role.ButtonText):
        p.setColor(group.Disabled, r, theme.text_dim)
    return p


def stylesheet(theme: Theme) -> str:
    s = {k: v.name() for k, v in surfaces(theme).items()}
    text, dim, accent = theme.text.name(), theme.text_dim.name(), theme.accent.name()
    bg = theme.background.name()
    return f"""
QMainWindow::separator {{ background: {s['border']}; width: 1px; height: 1px; }}
QDockWidget {{ titlebar-close-icon: none; }}
QDockWidget::title {{ background: {s['title']}; padding: 5px 8px; border-bottom: 1px solid
    {s['border']}; text-align: left; }}
QToolBar {{ background: {s['window']}; border: none; border-bottom: 1px solid {s['border']};
    padding: 3px 6px; spacing: 3px; }}
QToolBar::separator {{ background: {s['border']}; width: 1px; margin: 5px 6px; }}
QToolButton {{ border: 1px solid transparent; border-radius: 5px; padding: 4px; }}
QToolButton:hover {{ background: {s['button']}; border-color: {s['border']}; }}
QToolButton:pressed, QToolButton:checked {{ background: {s['border']}; }}
QStatusBar {{ background: {s['window']}; border-top: 1px solid {s['border']}; color: {dim}; }}
QLineEdit, QPlainTextEdit, QSpinBox, QDoubleSpinBox, QComboBox {{ background: {s['base']};
    border: 1px solid {s['border']}; border-radius: 4px; padding: 3px 5px;
    selection-background-color: {accent}; }}
QLineEdit:focus, QPlainTextEdit:focus, QSpinBox:focus, QDoubleSpinBox:focus,
QComboBox:focus {{ border-color: {accent}; }}
QLineEdit[invalid="true"], QPlainTextEdit[invalid="true"] {{ border-color:
    {theme.problem.name()}; }}
QTreeView, QListView, QTableView, QListWidget {{ background: {s['window']}; border: none;
    outline: 0; }}
QTreeView::item, QListWidget::item {{ padding: 3px 2px; border-radius: 3px; }}
QTreeView::item:hover, QListWidget::item:hover {{ background: {s['button']}; }}
QTreeView::item:selected, QListWidget::item:selected {{ background: {s['border']};
    color: {text}; }}
QTabBar::tab {{ background: {s['window']}; color: {dim}; padding: 5px 12px; border: none;
    border-bottom: 2px solid transparent; }}
QTabBar::tab:selected {{ color: {text}; border-bottom-color: {accent}; }}
QGraphicsView {{ border: none; background: {bg}; }}
QScrollArea {{ border: none; }}
QLabel[role="heading"] {{ font-weight: 600; }}
QLabel[role="dim"] {{ color: {dim}; }}
QLabel[role="error"] {{ color: {theme.problem.name()}; }}
QMenu {{ background: {s['window']}; border: 1px solid {s['border']}; padding: 4px; }}
QMenu::item {{ padding: 4px 22px 4px 22px; border-radius: 4px; }}
QMenu::item:selected {{ background: {s['button']}; }}
QMenu::separator {{ height: 1px; background: {s['border']}; margin: 4px 8px; }}
QToolTip {{ background: {s['button']}; color: {text}; border: 1px solid {s['border']};
    padding: 4px; }}
"""


FUSION_SET = "flowloom_fusion"  # QApplication property: its style is Fusion already


def apply_theme(app: QApplication, theme: Theme) -> None:
    """Fusion + the theme's palette and QSS for every widget of the application.

    The style is looked at once per application and marked (FUSION_SET): reading it back
    makes PySide6 build its QStyle wrapper and a dozen enums (~15 ms of a start-up). The
    editor's own QApplication starts with `-style fusion` and the mark (builder/app.py)."""
    if app.property(FUSION_SET) is not True:
        if app.style().name().lower() != "fusion":
            app.setStyle("Fusion")
        app.setProperty(FUSION_SET, True)
    app.setPalette(make_palette(theme))
    app.setStyleSheet(stylesheet(theme))
