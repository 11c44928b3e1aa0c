"""Point 5: palette and quick-add rank an exact title first, then a prefix, then a word start,
then a fuzzy match ("output" lists Output above Merge)."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt

from builder.ranking import match, ranked
from tests.builder.newcomer_support import make_window


def test_ranking_tiers_exact_prefix_word_start_contains_fuzzy():
    titles = ["Merge", "Outputs to file", "Output", "Sub output", "Loop tuple"]
    keywords = {"Merge": "flow.merge joins outputs"}
    got = ranked("output", titles, lambda t: t, lambda t: keywords.get(t, ""))
    assert got == ["Output", "Outputs to file", "Sub output", "Merge"]
    assert ranked("otpt", titles, lambda t: t)[0] == "Output"  # fuzzy, in order
    assert match("zzz", "Output") is None
    assert ranked("", titles, lambda t: t) == titles


def test_palette_search_output_puts_output_first_and_enter_adds_it(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path)
    palette = window.palette
    qtbot.mouseClick(palette.search, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(palette.search, "output")
    shown = palette.visible_type_ids()
    assert shown[0] == "flow.output"
    assert "flow.merge" not in shown or shown.index("flow.merge") > 0
    qtbot.keyClick(palette.search, Qt.Key.Key_Return)
    assert [n.type for n in window.document.workflow.nodes.values()] == ["flow.output"]
    palette.search.clear()
    assert palette.visible_categories() == palette.model.categories()  # the usual order back


def test_quick_add_ranks_the_same_way(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path)
    canvas = window.canvas
    spot = canvas.mapFromScene(QPointF(0, 0))
    qtbot.mouseDClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=spot)
    qtbot.waitUntil(lambda: canvas.quick_add is not None)
    popup = canvas.quick_add.popup
    qtbot.keyClicks(popup.search, "output")
    assert popup.type_ids()[0] == "flow.output"
    qtbot.keyClick(popup.search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(window.document.workflow.nodes) == 1)
    assert next(iter(window.document.workflow.nodes.values())).type == "flow.output"
