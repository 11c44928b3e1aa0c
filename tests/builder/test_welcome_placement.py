"""#13: the welcome card never covers a node — on every template, in a 1280x800 and a 1024x700
window, and when the person pans the graph under it."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from builder.gallery import open_template
from builder.templates import find_templates
from tests.builder.newcomer_support import make_window

TEMPLATES = find_templates()


def covered(window) -> list[str]:
    """Titles of the nodes the card covers on screen."""
    card = window.welcome
    canvas = window.canvas
    corner = canvas.viewport().geometry().topLeft()
    out = []
    for item in canvas.graph_scene.nodes.values():
        rect = canvas.mapFromScene(item.sceneBoundingRect()).boundingRect().translated(corner)
        if rect.intersects(card.geometry()) and canvas.viewport().geometry().intersects(rect):
            out.append(item.content.title)
    return out


def settle(qtbot, window) -> None:
    """Until the fit after opening has landed and the card has looked at the view."""
    canvas = window.canvas
    qtbot.waitUntil(lambda: canvas.minimap.renders >= 1, timeout=3000)
    canvas.viewport().repaint()
    qtbot.wait(1)  # (one turn of the event loop, no fixed sleep: the asserts wait below)


@pytest.mark.parametrize("size", [(1280, 800), (1024, 700)], ids=["1280x800", "1024x700"])
@pytest.mark.parametrize("template", TEMPLATES, ids=[t.slug for t in TEMPLATES])
def test_the_card_covers_no_node_of_any_template(qtbot, tmp_path, template, size):
    window = make_window(qtbot, tmp_path)
    window.resize(*size)
    assert open_template(window.session, template, modified=False)
    window.welcome.show_card()
    settle(qtbot, window)
    qtbot.waitUntil(lambda: not covered(window), timeout=3000)
    assert window.welcome.isVisible()  # the view made room for it as it was shown
    window.close()


def test_panning_a_node_under_the_card_moves_or_folds_the_card(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path)
    hello = next(t for t in TEMPLATES if t.slug == "hello")
    assert open_template(window.session, hello, modified=False)
    card = window.welcome
    card.show_card()
    settle(qtbot, window)
    qtbot.waitUntil(lambda: not covered(window), timeout=3000)
    card._shift_until = 0.0  # later on, the card never moves the person's view
    canvas = window.canvas
    first = canvas.node_item(next(iter(canvas.graph_scene.nodes))).sceneBoundingRect()
    # put that node's centre under the card's centre
    under = canvas.mapToScene(card.geometry().center() - canvas.viewport().geometry().topLeft())
    view = canvas.mapToScene(canvas.viewport().rect().center())
    canvas.centerOn(view + first.center() - under)
    moved_view = canvas.mapToScene(canvas.viewport().rect().center())
    qtbot.waitUntil(lambda: not covered(window), timeout=3000)
    assert card.isVisible()
    # the person's view stayed where they put it
    after = canvas.mapToScene(canvas.viewport().rect().center())
    assert abs(after.x() - moved_view.x()) < 1 and abs(after.y() - moved_view.y()) < 1


def test_show_tips_unfolds_the_card_and_makes_room_for_it(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path)
    window.resize(1024, 700)
    hello = next(t for t in TEMPLATES if t.slug == "hello")
    assert open_template(window.session, hello, modified=False)
    card = window.welcome
    card.show_card()
    settle(qtbot, window)
    qtbot.waitUntil(lambda: not covered(window), timeout=3000)
    if not card.folded:  # fold it as a crowded view does
        card._fold(True)
    qtbot.mouseClick(card.unfold_button, Qt.MouseButton.LeftButton)
    assert card.isVisible()
    qtbot.waitUntil(lambda: not covered(window), timeout=3000)
    # the view moved down to make room for the whole card at the top
    assert card.isVisible() and not card.folded and card.body.isVisible()
