"""The palette lists the registry by category, filters by search, and drags type ids out."""

from __future__ import annotations

from PySide6.QtCore import Qt

from builder.palette import Palette
from builder.palette_model import NODE_MIME, TYPE_ID_ROLE, PaletteModel
from tests.builder.shell_support import make_registry


def test_palette_lists_every_category_and_every_node_type(qtbot):
    registry = make_registry()
    palette = Palette(registry)
    qtbot.addWidget(palette)
    expected_categories = {t.category for t in registry}
    assert set(palette.visible_categories()) == expected_categories
    assert palette.visible_categories()[0] == "Flow"  # the order people look for them in
    assert sorted(palette.visible_type_ids()) == registry.type_ids()
    assert "test.everything" in palette.model.type_ids("Tools")


def test_search_keeps_only_matching_types_and_their_categories(qtbot):
    palette = Palette(make_registry())
    qtbot.addWidget(palette)
    qtbot.keyClicks(palette.search, "merge")
    assert palette.visible_type_ids() == ["flow.merge"]
    assert palette.visible_categories() == ["Flow"]
    palette.search.setText("EVERY kind")  # every word, any case, title or description
    assert palette.visible_type_ids() == ["test.everything"]
    palette.search.setText("no such node anywhere")
    assert palette.visible_type_ids() == []
    palette.search.clear()
    assert len(palette.visible_type_ids()) == len(make_registry())


def test_dragging_a_node_type_carries_its_type_id_as_flowloom_mime(qtbot):
    palette = Palette(make_registry())
    qtbot.addWidget(palette)
    palette.search.setText("if")
    proxy = palette.tree.model()
    flow = proxy.index(0, 0)
    index = next(proxy.index(r, 0, flow) for r in range(proxy.rowCount(flow))
                 if proxy.index(r, 0, flow).data(TYPE_ID_ROLE) == "flow.if")
    assert proxy.flags(index) & Qt.ItemFlag.ItemIsDragEnabled
    assert not proxy.flags(flow) & Qt.ItemFlag.ItemIsDragEnabled  # categories do not drag
    mime = proxy.mimeData([index])  # what the tree view hands to QDrag
    assert mime.formats()[0] == NODE_MIME
    assert bytes(mime.data(NODE_MIME)).decode("utf-8") == "flow.if"
    assert proxy.mimeData([flow]) is None


def test_double_click_or_enter_asks_to_add_the_node(qtbot):
    palette = Palette(make_registry())
    qtbot.addWidget(palette)
    palette.show()
    with qtbot.waitSignal(palette.node_activated) as blocker:
        palette.search.setText("delay")
        qtbot.keyClick(palette.search, Qt.Key.Key_Return)
    assert blocker.args == ["util.delay"]
    palette.search.clear()
    model: PaletteModel = palette.model
    source = model.index_of("flow.merge")
    with qtbot.waitSignal(palette.node_activated) as blocker:
        palette.tree.doubleClicked.emit(palette.proxy.mapFromSource(source))
    assert blocker.args == ["flow.merge"]
