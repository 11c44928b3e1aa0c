"""The editor's side of trust: the banner over a file from elsewhere, code-node marks, the gate
before a run.

`TrustGate` follows the window's document. A trusted document (new, saved on this machine,
shipped, or trusted by the person) runs with full powers and shows nothing. An untrusted one
shows `TrustBanner` (it came from elsewhere; nothing runs until allowed; what it needs, in
counts), marks the nodes that run code with a `CodeMark` on the canvas, and makes every run of
the window's `RunController` use `Grants()` (nothing) until the person allows more. Before a
run, `allow_run()` shows the manifest (builder/permissions_dialog.py) unless what was allowed
already covers it: Allow once grants exactly that (while the file is open), Trust this file
records it in the trust store, Cancel runs nothing. The manifest and grants are engine values
(engine/permissions.py); this module only shows them and passes them on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import QObject, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QGraphicsItem,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStyleOptionGraphicsItem,
    QToolBar,
    QWidget,
)

from builder.permissions_dialog import ALLOW_ONCE, TRUST, PermissionsDialog
from engine.permissions import NET, READ, RUN, WRITE, Grants, Manifest, manifest_of
from engine.trust import TRUSTED, TrustStore

if TYPE_CHECKING:  # pragma: no cover - typing only
    from builder.document import Document

log = logging.getLogger(__name__)

REFRESH_MS = 150  # after an edit, recompute the manifest at most this often
AMBER = QColor("#e0a43a")
Ask = Callable[[str, Manifest, bool], str]


def summary(manifest: Manifest) -> str:
    """`contacts 2 hosts, reads 1 file, runs 1 code node` (or: needs nothing)."""
    dynamic: dict[str, int] = {}
    for d in manifest.dynamic:
        dynamic[d["capability"]] = dynamic.get(d["capability"], 0) + 1
    parts = []
    for cap, verb, noun in ((NET, "contacts", "host"), (READ, "reads", "path"),
                            (WRITE, "writes", "path"), (RUN, "runs", "code node")):
        count = len(manifest.needs[cap]) + dynamic.get(cap, 0)
        if cap == RUN:
            count = len({n for ids in manifest.needs[RUN].values() for n in ids})
        if count:
            parts.append(f"{verb} {count} {noun}{'s' * (count != 1)}")
    return ", ".join(parts) if parts else "needs nothing"


class TrustBanner(QWidget):
    """A strip over the canvas: this file came from elsewhere, and nothing in it has run."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("TrustBanner")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 6, 8, 6)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        row.addWidget(self.label, 1)
        self.review_button = QPushButton("Review permissions…")
        self.trust_button = QPushButton("Trust this file")
        row.addWidget(self.review_button)
        row.addWidget(self.trust_button)
        self._restyle()

    def set_text(self, name: str, manifest: Manifest) -> None:
        self.label.setText(f"⚠  “{name}” came from elsewhere (not saved or trusted on this "
                           f"machine). Nothing in it runs until you allow it. It "
                           f"{summary(manifest)}.")

    def changeEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        super().changeEvent(event)
        if event.type() == event.Type.PaletteChange:
            self._restyle()

    def _restyle(self) -> None:
        dark = self.palette().window().color().lightness() < 128
        if dark == getattr(self, "_dark", None):  # setting a style sheet changes the palette
            return
        self._dark = dark
        back, text = ("#4a3812", "#ffe3a8") if dark else ("#fff0c8", "#4a3300")
        self.setStyleSheet(f"#TrustBanner {{ background: {back}; border-bottom: 2px solid "
                           f"{AMBER.name()}; }} #TrustBanner QLabel {{ color: {text}; }}")


class CodeMark(QGraphicsItem):
    """An amber `runs code` tag above a node of an untrusted file (a child of its item)."""

    TEXT = "⚠ runs code"

    def __init__(self, parent: QGraphicsItem) -> None:
        super().__init__(parent)
        self.font = QFont()
        self.font.setPointSizeF(max(8.0, self.font.pointSizeF() * 0.85))
        self.font.setBold(True)
        box = parent.boundingRect()
        self.rect = QRectF(0, 0, 96, 20)
        self.setPos(box.right() - self.rect.width(), box.top() - self.rect.height() - 4)
        self.setZValue(5)
        self.setToolTip("This node runs code. The file came from elsewhere, so it runs only "
                        "if you allow it (code that runs can do anything you can).")

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt override
        return self.rect

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        path = QPainterPath()
        path.addRoundedRect(self.rect, 6, 6)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillPath(path, AMBER)
        painter.setPen(QPen(QColor("#2a1d00")))
        painter.setFont(self.font)
        painter.drawText(self.rect, Qt.AlignmentFlag.AlignCenter, self.TEXT)


def ask_with_dialog(window: Any) -> Ask:
    def ask(name: str, manifest: Manifest, can_trust: bool) -> str:
        dialog = PermissionsDialog(name, manifest, lambda ids: _reveal(window, ids), can_trust,
                                   window)
        dialog.exec()
        return dialog.choice

    return ask


def _reveal(window: Any, ids: list[str]) -> None:
    window.canvas.select_nodes(ids)
    if ids:
        window.canvas.center_on_node(ids[0])


class TrustGate(QObject):
    """Follows the window's document; see the module docstring."""

    def __init__(self, window: Any, ask: Ask | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.ask = ask or ask_with_dialog(window)
        self.banner = TrustBanner()
        self.bar = QToolBar("Trust", window)
        self.bar.setObjectName("trust_bar")
        self.bar.setMovable(False)
        self.bar.setFloatable(False)
        self.bar.toggleViewAction().setVisible(False)  # it is not the person's to hide
        self.bar.addWidget(self.banner)
        window.addToolBarBreak(Qt.ToolBarArea.TopToolBarArea)
        window.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.bar)
        self.bar.hide()
        self.banner.review_button.clicked.connect(self.review)
        self.banner.trust_button.clicked.connect(self.trust)
        self.document: Document | None = None
        self.allowed: Grants | None = None  # "Allow once" for the open file
        self.marks: dict[str, CodeMark] = {}
        self.manifest = Manifest()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)

    # --- following the document -------------------------------------------------------------
    def document_changed(self, document: Document) -> None:
        if self.document is not None and shiboken6.isValid(self.document):
            try:
                self.document.changed.disconnect(self._timer.start)
            except (RuntimeError, TypeError):
                pass
        self.document = document
        self.allowed = None
        document.changed.connect(self._timer.start)
        self.refresh()

    @property
    def trusted(self) -> bool:
        return self.document is None or self.document.trusted

    def compute(self) -> Manifest:
        document = self.document
        base = document.path.resolve().parent if document and document.path else None
        if document is None:
            return Manifest()
        return manifest_of(document.workflow, self.window.registry, base, source=document.path)

    def refresh(self) -> None:
        """Banner, code marks and the runner's grants, for the document as it is now."""
        runner = self.window.runner
        self._clear_marks()
        if self.trusted:
            self.bar.hide()
            runner.grants = None
            return
        self.manifest = self.compute()
        self.banner.set_text(self.document.display_name, self.manifest)
        self.bar.show()
        runner.grants = self.allowed or Grants()
        for ids in self.manifest.needs[RUN].values():
            for node_id in ids:
                item = self.window.canvas.node_item(node_id)
                if item is not None and node_id not in self.marks:
                    self.marks[node_id] = CodeMark(item)

    def _clear_marks(self) -> None:
        for mark in self.marks.values():
            if shiboken6.isValid(mark) and mark.scene() is not None:
                mark.scene().removeItem(mark)
        self.marks = {}

    # --- decisions --------------------------------------------------------------------------
    def allow_run(self) -> bool:
        """Before a run: True when it may start (the runner's grants are set), False when
        the person cancelled."""
        if self.trusted:
            self.window.runner.grants = None
            return True
        self.refresh()
        manifest = self.manifest
        if manifest.empty or (self.allowed is not None
                              and self.allowed.uncovered(manifest).empty):
            return True
        return self._decide(manifest)

    def review(self) -> None:
        """The banner's Review button: the same choices, without starting a run."""
        if not self.trusted:
            self.refresh()
            self._decide(self.manifest)

    def _decide(self, manifest: Manifest) -> bool:
        document = self.document
        can_trust = document is not None and document.path is not None
        choice = self.ask(document.display_name if document else "", manifest, can_trust)
        if choice == TRUST:
            return self.trust()
        if choice == ALLOW_ONCE:
            self.allowed = Grants.covering(manifest)
            self.window.runner.grants = self.allowed
            self.window.show_status("Allowed for this run while the file is open; it stays "
                                    "untrusted")
            return True
        self.window.show_status("Run cancelled: the workflow came from elsewhere and was not "
                                "allowed")
        return False

    def trust(self) -> bool:
        document = self.document
        if document is None or document.path is None:
            return False
        try:
            TrustStore().record(Path(document.path), TRUSTED)
        except OSError as exc:
            self.window.show_status(f"Could not trust {document.display_name}: {exc}")
            return False
        document.trusted = True
        self.refresh()
        self.window.show_status(f"{document.display_name} is trusted now")
        return True
