"""Help ▸ User guide, Node reference and Keyboard shortcuts, shown offline inside the editor.

The guide is docs/guide.md of this checkout, rendered by a QTextBrowser (Markdown; relative
images resolve against docs/); the node reference is made from the registry the window runs
with (nodes.docs.markdown_reference, what `flowloom nodes --markdown` prints), so it always
matches the product, plugins included. Nothing is fetched from the network.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QUrl
from PySide6.QtWidgets import QDialog, QTextBrowser, QVBoxLayout, QWidget

if TYPE_CHECKING:  # pragma: no cover - typing only
    from builder.mainwindow import MainWindow

log = logging.getLogger(__name__)

DOCS_DIR = Path(__file__).resolve().parents[1] / "docs"
TITLES = {"guide": "Flowloom user guide", "nodes": "Node reference"}


class DocViewer(QDialog):
    """A non-modal window with one Markdown document; links to other docs open in it."""

    def __init__(self, title: str, markdown: str, base: Path,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("DocViewer")
        self.setWindowTitle(title)
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(False)
        self.browser.setOpenLinks(False)
        self.browser.anchorClicked.connect(self._follow)
        self.browser.document().setBaseUrl(QUrl.fromLocalFile(str(base) + "/"))
        self.browser.setMarkdown(markdown)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.browser)
        self.resize(760, 640)

    def _follow(self, url: QUrl) -> None:
        if url.isRelative() and url.path().endswith(".md"):
            path = DOCS_DIR / url.path()
            if path.is_file():
                self.browser.setMarkdown(path.read_text(encoding="utf-8"))
                return
        if url.hasFragment() and not url.path():
            self.browser.scrollToAnchor(url.fragment())


def document_text(window: MainWindow, name: str) -> str:
    if name == "nodes":
        from nodes.docs import markdown_reference  # the reference is made on demand

        return markdown_reference(window.registry)
    path = DOCS_DIR / f"{name}.md"
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        log.warning("cannot read %s: %s", path, exc)
        return (f"# {TITLES.get(name, name)}\n\nThe document {path} is not installed with this "
                "copy of Flowloom.")


def open_doc(window: MainWindow, name: str) -> DocViewer:
    """Help ▸ User guide ("guide") or Node reference ("nodes"), in a window of its own."""
    viewer = DocViewer(TITLES.get(name, name), document_text(window, name), DOCS_DIR, window)
    viewer.show()
    window.doc_viewers = [v for v in getattr(window, "doc_viewers", []) if v.isVisible()]
    window.doc_viewers.append(viewer)
    return viewer
