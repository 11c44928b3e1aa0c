"""The memory inspector dialog, driven with pytest-qt: listing, key switching, searching and
deleting entries of a real store file."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from builder.memory_inspector import MemoryInspector
from nodes.memory_store import MemoryStore


@pytest.fixture
def store(tmp_path) -> MemoryStore:
    s = MemoryStore(tmp_path / "memory.db")
    s.add("research", "Solar panels need cleaning every month", {"source": "notes"})
    s.add("research", "The solar eclipse is in August")
    s.add("research", "Bread needs flour and water")
    s.add("travel", "Flights leave from Gatwick")
    return s


def texts(dialog: MemoryInspector) -> list[str]:
    return [dialog.table.item(r, 1).text() for r in range(dialog.table.rowCount())]


def test_lists_the_newest_entries_of_the_first_key_and_switches_keys(qtbot, store):
    dialog = MemoryInspector(store)
    qtbot.addWidget(dialog)
    assert [dialog.key_box.itemText(i) for i in range(dialog.key_box.count())] == [
        "research", "travel"]
    assert texts(dialog) == ["Bread needs flour and water", "The solar eclipse is in August",
                             "Solar panels need cleaning every month"]
    assert dialog.table.item(2, 2).text() == '{"source": "notes"}'
    assert "3 of 3 memories under 'research'" in dialog.status.text()
    dialog.key_box.setCurrentIndex(1)
    assert texts(dialog) == ["Flights leave from Gatwick"]


def test_search_ranks_matches_within_the_key(qtbot, store):
    dialog = MemoryInspector(store)
    qtbot.addWidget(dialog)
    qtbot.keyClicks(dialog.search_box, "solar panels")
    assert texts(dialog) == ["Solar panels need cleaning every month",
                             "The solar eclipse is in August"]
    assert dialog.table.item(0, 4).text() != ""
    assert "2 matching of 3" in dialog.status.text()
    dialog.search_box.clear()
    qtbot.keyClicks(dialog.search_box, "Gatwick")  # another key's entry is never shown
    assert texts(dialog) == []


def test_delete_asks_then_removes_only_the_selected_entries(qtbot, store):
    answers = [False, True]
    asked: list[str] = []

    def confirm(_parent, _title, text):
        asked.append(text)
        return answers.pop(0)

    dialog = MemoryInspector(store, confirm=confirm)
    qtbot.addWidget(dialog)
    assert not dialog.delete_button.isEnabled()
    dialog.table.selectRow(1)
    assert dialog.delete_button.isEnabled()
    qtbot.mouseClick(dialog.delete_button, Qt.MouseButton.LeftButton)
    assert store.count("research") == 3  # refused: nothing deleted
    qtbot.mouseClick(dialog.delete_button, Qt.MouseButton.LeftButton)
    assert asked == ["Delete this memory of 'research'? This cannot be undone."] * 2
    assert [m.text for m in store.entries("research")] == [
        "Bread needs flour and water", "Solar panels need cleaning every month"]
    assert texts(dialog) == ["Bread needs flour and water",
                             "Solar panels need cleaning every month"]
    assert store.count("travel") == 1


def test_view_memory_opens_the_inspector_on_the_store_beside_the_history(qtbot, tmp_path,
                                                                        monkeypatch):
    from builder.mainwindow import MainWindow
    from tests.builder.shell_support import Answers, make_registry, temp_settings

    monkeypatch.setenv("FLOWLOOM_MEMORY_DB", str(tmp_path / "memory.db"))
    MemoryStore().add("notes", "remember the milk")
    window = MainWindow(make_registry(), temp_settings(tmp_path), Answers().prompts(),
                        recover=False, theme_mode="dark")
    qtbot.addWidget(window)
    (action,) = [a for menu, a in window.listed_actions
                 if menu == "View" and a.text() == "&Memory…"]
    action.trigger()
    (dialog,) = window.findChildren(MemoryInspector)
    assert dialog.isVisible() and texts(dialog) == ["remember the milk"]
    dialog.close()
