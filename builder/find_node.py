"""Find node (Ctrl+F): type part of a node's title or id, Enter selects it and centres it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from builder.command_palette import Entry, SearchPopup

if TYPE_CHECKING:  # pragma: no cover - typing only
    from builder.mainwindow import MainWindow


def node_entries(window: MainWindow) -> list[Entry]:
    entries: list[Entry] = []
    for node_id, node in window.document.workflow.nodes.items():
        title = node.title or node_id
        entries.append((f"{title}    {node_id}", f"{node_id} {node.type}",
                        lambda n=node_id: window.reveal_node(n)))
    return entries


def open_find_node(window: MainWindow) -> SearchPopup:
    popup = SearchPopup(node_entries(window), "Find node by title or id…", window)
    popup.setObjectName("FindNode")
    popup.open_over(window.canvas)
    window.find_popup = popup
    return popup
