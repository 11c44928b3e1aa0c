"""Point 10: toolbar status tips read as words ("Open", not "&Open"); Help has the user guide,
the node reference and the keyboard shortcuts, opened offline; the guide matches the product."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolButton

from builder.help_docs import DOCS_DIR
from tests.builder.newcomer_support import make_window, press


def test_toolbar_status_tips_have_no_ampersands(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path)
    tips = [a.statusTip() for a in window.toolbar.actions() if not a.isSeparator()]
    assert "Open" in tips and "Run" in tips
    assert not [t for t in tips if "&" in t]
    assert not [a.statusTip() for a in window.acts.values() if "&" in a.statusTip()
                and "&&" not in a.text()]
    button = window.toolbar.widgetForAction(window.acts["open"])
    assert isinstance(button, QToolButton)


def test_help_opens_the_guide_the_node_reference_and_the_shortcuts(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path)
    help_menu = window.menus["&Help"]
    titles = [a.text().replace("&", "") for a in help_menu.actions()]
    assert {"User guide", "Node reference", "Keyboard shortcuts"} <= set(titles)
    press(qtbot, window, Qt.Key.Key_F1)
    qtbot.waitUntil(lambda: bool(getattr(window, "doc_viewers", [])))
    assert "Flowloom user guide" in window.doc_viewers[-1].browser.toPlainText()
    window.acts["node_reference"].trigger()
    reference = window.doc_viewers[-1].browser.toPlainText()
    for node_type in window.registry:  # made from the registry: every type, plugins too
        assert node_type.type_id in reference
    dialog = window.show_shortcuts()
    assert dialog.isVisible()


def test_the_guide_describes_the_panels_that_are_there():
    guide = (DOCS_DIR / "guide.md").read_text(encoding="utf-8")
    assert "later version" not in guide
    for panel in ("Log", "Timeline", "Charts", "History", "Analytics"):
        assert f"**{panel}**" in guide
    assert "one click decides" in guide
