"""The window's actions, menus and toolbar, declared in one table.

Every action has a tooltip that names its shortcut; Help ▸ Shortcuts lists them all (`listed`).
Actions call the window (File operations go to its Session, editing to its Canvas), so this
module holds wiring only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMenu, QToolBar

from builder.canvas.minimap import minimap_toggled, minimap_wanted
from builder.icons import icon
from builder.recent_names import short_names

if TYPE_CHECKING:  # pragma: no cover - typing only
    from builder.mainwindow import MainWindow

Key = QKeySequence.StandardKey
ALIGN = (("left", "Align left"), ("right", "Align right"), ("top", "Align top"),
         ("bottom", "Align bottom"), ("hcenter", "Align centres horizontally"),
         ("vcenter", "Align centres vertically"))
TOOLBAR = ("new", "open", "save", None, "undo", "redo", None, "run", "stop", None, "fit",
           "zoom_in", "zoom_out")
ICONS = {"new": "new", "open": "open", "save": "save", "undo": "undo", "redo": "redo",
         "run": "run", "stop": "stop", "fit": "fit", "zoom_in": "zoom-in",
         "zoom_out": "zoom-out", "delete": "delete", "frame": "frame"}


def tooltip(label: str, action: QAction) -> str:
    keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
    label = label.replace("&", "").replace("…", "")
    return f"{label} ({keys})" if keys else label


def build(w: MainWindow) -> dict[str, QAction]:
    acts: dict[str, QAction] = {}
    menus: dict[str, QMenu] = {}
    w.listed_actions = []  # (menu title, action) for Help ▸ Shortcuts

    def add(menu: str, key: str, text: str, slot: Callable[..., object],
            shortcut: QKeySequence | str | Key | list | None = None,
            checkable: bool = False) -> QAction:
        action = QAction(text, w)
        if isinstance(shortcut, list):
            action.setShortcuts([QKeySequence(s) for s in shortcut])
        elif shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setCheckable(checkable)
        action.setToolTip(tooltip(text.replace("…", ""), action))
        action.setStatusTip(text.replace("&&", "\0").replace("&", "").replace("\0", "&")
                            .replace("…", ""))
        if checkable:
            action.toggled.connect(slot)
        else:
            action.triggered.connect(lambda _checked=False: slot())
        acts[key] = action
        menus[menu].addAction(action)
        w.listed_actions.append((menu.replace("&", ""), action))
        return action

    bar = w.menuBar()
    for title in ("&File", "&Edit", "&View", "&Run", "&Help"):
        menus[title] = bar.addMenu(title)

    s, c = w.session, w.canvas
    add("&File", "new", "&New", s.new, Key.New)
    add("&File", "new_from_template", "New from &Template…", w.new_from_template, "Ctrl+Shift+N")
    add("&File", "describe", "&Describe a workflow…", lambda: _show_plan_dialog(w))
    add("&File", "open", "&Open…", lambda: s.open(), Key.Open)
    w.recent_menu = menus["&File"].addMenu("Open &Recent")
    add("&File", "save", "&Save", s.save, Key.Save)
    add("&File", "save_as", "Save &As…", s.save_as, "Ctrl+Shift+S")
    menus["&File"].addSeparator()
    add("&File", "close", "&Close", s.close, "Ctrl+W")
    add("&File", "quit", "&Quit", w.close, "Ctrl+Q")
    acts["quit"].setMenuRole(QAction.MenuRole.QuitRole)

    add("&Edit", "undo", "&Undo", lambda: w.document.undo_stack.undo(), "Ctrl+Z")
    add("&Edit", "redo", "&Redo", lambda: w.document.undo_stack.redo(),
        ["Ctrl+Shift+Z", "Ctrl+Y"])
    menus["&Edit"].addSeparator()
    add("&Edit", "cut", "Cu&t", c.cut_selection, Key.Cut)
    add("&Edit", "copy", "&Copy", c.copy_selection, Key.Copy)
    add("&Edit", "paste", "&Paste", c.paste, Key.Paste)
    add("&Edit", "duplicate", "&Duplicate", c.duplicate_selection, "Ctrl+D")
    add("&Edit", "delete", "De&lete", c.delete_selection, [QKeySequence(Key.Delete),
                                                             QKeySequence("Backspace")])
    add("&Edit", "select_all", "Select &All", c.select_all, "Ctrl+A")
    menus["&Edit"].addSeparator()
    align = menus["&Edit"].addMenu("Align && &Distribute")
    menus["Align"] = align
    for edge, text in ALIGN:
        add("Align", f"align_{edge}", text, lambda e=edge: c.align_selection(e))
    align.addSeparator()
    add("Align", "distribute_h", "Distribute horizontally", lambda: c.distribute_selection("h"))
    add("Align", "distribute_v", "Distribute vertically", lambda: c.distribute_selection("v"))
    add("&Edit", "frame", "&Frame selection", c.frame_selection, "Ctrl+G")
    add("&Edit", "snap", "S&nap to grid", w.set_snap, checkable=True)
    menus["&Edit"].addSeparator()
    add("&Edit", "preferences", "Pre&ferences…", lambda: _show_preferences(w), "Ctrl+,")
    acts["preferences"].setMenuRole(QAction.MenuRole.PreferencesRole)
    # Editing keys act on the canvas; text fields keep their own Delete/Ctrl+A/Ctrl+C.
    for key in ("cut", "copy", "paste", "duplicate", "delete", "select_all"):
        acts[key].setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        c.addAction(acts[key])

    add("&View", "find_node", "F&ind node…", lambda: _open_find_node(w), Key.Find)
    add("&View", "command_palette", "&Command palette…", lambda: _open_command_palette(w),
        "Ctrl+Shift+P")
    add("&View", "fit", "&Fit all", c.fit_all, "F")
    add("&View", "fit_selection", "Fit &selection", c.fit_selection, "Shift+F")
    add("&View", "zoom_in", "Zoom &in", c.zoom_in, [QKeySequence(Key.ZoomIn),
                                                     QKeySequence("Ctrl+=")])
    add("&View", "zoom_out", "Zoom &out", c.zoom_out, Key.ZoomOut)
    add("&View", "minimap", "&Minimap", lambda on: minimap_toggled(w, on), checkable=True)
    acts["minimap"].setChecked(minimap_wanted(w.settings))
    c.minimap.set_wanted(acts["minimap"].isChecked())
    menus["&View"].addSeparator()
    panels = menus["&View"].addMenu("&Panels")
    for dock in (w.palette_dock, w.inspector_dock, w.problems_dock):
        toggle = dock.toggleViewAction()
        panels.addAction(toggle)
    if w.run_docks:
        panels.addSeparator()
        for dock in w.run_docks:
            panels.addAction(dock.toggleViewAction())
    panels.addSeparator()
    panels.addAction("Reset layout", w.reset_layout)
    menus["Theme"] = menus["&View"].addMenu("&Theme")
    group = QActionGroup(w)
    for mode in ("system", "dark", "light"):
        action = add("Theme", f"theme_{mode}", mode.capitalize(),
                     lambda on, m=mode: on and w.apply_theme(m), checkable=True)
        group.addAction(action)
    add("&View", "memory", "&Memory…", lambda: _show_memory_inspector(w))
    add("&View", "dashboard", "&Dashboard", lambda: _show_dashboard(w))
    add("&View", "services", "S&ervices", w.show_services)

    add("&Run", "run", "&Run", w.run_workflow, "F5")
    add("&Run", "stop", "&Stop", w.stop_workflow, "Shift+F5")
    acts["stop"].setEnabled(False)
    menus["&Run"].addSeparator()
    # (the run view is built after the first frame, or by the first of these)
    add("&Run", "rerun_from", "Re-run from &Here", lambda: w.run_view.rerun_selected(),
        "Ctrl+F5")
    add("&Run", "approve", "&Approve…", lambda: w.run_view.review_selected(True), "Ctrl+Return")
    add("&Run", "reject", "Re&ject…", lambda: w.run_view.review_selected(False),
        "Ctrl+Backspace")
    _cluster_hook(w, add)

    add("&Help", "guide", "&User guide", lambda: _open_doc(w, "guide"), "F1")
    add("&Help", "node_reference", "&Node reference", lambda: _open_doc(w, "nodes"))
    add("&Help", "shortcuts", "Keyboard &shortcuts", w.show_shortcuts, "Ctrl+/")
    add("&Help", "welcome", "&Welcome card", lambda: w.welcome.show_card())
    add("&Help", "about", "&About Flowloom", w.show_about)

    toolbar = QToolBar("Toolbar", w)
    toolbar.setObjectName("toolbar")
    toolbar.setMovable(False)
    toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
    for key in TOOLBAR:
        if key is None:
            toolbar.addSeparator()
        else:
            toolbar.addAction(acts[key])
    toolbar.widgetForAction(acts["run"]).setToolButtonStyle(
        Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    w.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)
    w.toolbar = toolbar
    w.menus = menus
    fill_recent(w)
    return acts


def tint_icons(w: MainWindow) -> None:
    """(Re)draw the action icons in the theme's colours."""
    theme = w.theme
    for key, name in ICONS.items():
        color = theme.text
        if key == "run":
            color = theme.state_color("succeeded")
        elif key == "stop":
            color = theme.state_color("failed")
        w.acts[key].setIcon(icon(name, color))


def fill_recent(w: MainWindow) -> None:
    menu = w.recent_menu
    menu.clear()
    paths = w.session.recent.paths()
    labels = short_names(paths)
    for number, path in enumerate(paths, start=1):
        action = menu.addAction(f"&{number % 10}  {labels[path]}")
        action.setToolTip(path)
        action.setStatusTip(path)
        action.triggered.connect(lambda _c=False, p=path: w.session.open(p))
    if not paths:
        menu.addAction("No recent files").setEnabled(False)
    menu.addSeparator()
    clear = menu.addAction("Clear list")
    clear.setEnabled(bool(paths))
    clear.triggered.connect(lambda: (w.session.recent.clear(), fill_recent(w)))


def listed(w: MainWindow) -> list[tuple[str, QAction]]:
    return list(w.listed_actions)


def _cluster_hook(w: MainWindow, add: Callable[..., QAction]) -> None:
    """Run ▸ Cluster… and the Dask seam of the editor's runs (builder/runview/cluster_settings,
    imported when a run asks for its seam or the dialog opens: not start-up work)."""

    def seam() -> object:
        from builder.runview import cluster_settings

        return cluster_settings.seam_for_editor(w.settings)

    def show() -> object:
        from builder.runview import cluster_settings

        return cluster_settings.show_for(w)

    w.runner.seam = seam
    add("&Run", "cluster", "&Cluster…", show)


def _open_doc(w: MainWindow, name: str) -> object:
    # imported on use: the viewer and the node reference (nodes.docs) are not start-up work
    from builder import help_docs

    return help_docs.open_doc(w, name)


def _show_memory_inspector(w: MainWindow) -> object:
    # imported on use: the agent memory store (httpx, the node library) is not start-up work
    from builder.memory_inspector import show_for

    return show_for(w)


def _show_plan_dialog(w: MainWindow) -> object:
    # imported on use, like the memory inspector: the planner is not start-up work
    from builder.plan_dialog import show_for

    return show_for(w)


def _show_preferences(w: MainWindow) -> object:
    from builder.preferences import show_for  # imported on use: not start-up work

    return show_for(w)


def _show_dashboard(w: MainWindow) -> object:
    # imported on use: pyqtgraph and the history queries are not start-up work
    from builder.panels.dashboard import show_for

    return show_for(w)


def _open_find_node(w: MainWindow) -> object:
    from builder.find_node import open_find_node  # imported on use: not start-up work

    return open_find_node(w)


def _open_command_palette(w: MainWindow) -> object:
    from builder.command_palette import open_command_palette  # imported on use

    return open_command_palette(w)
