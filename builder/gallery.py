"""The template gallery: a dialog with a grid of cards (preview, title, tags, difficulty).

A search box and tag/difficulty filters narrow the grid (`Template.matches` decides, see
builder/templates.py); "Use" on a card, or a double-click, accepts the dialog with that template
chosen. `open_template(session, template)` then puts an unsaved copy in the window: the document
has no path (Save asks where to write) and is marked modified.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QMouseEvent, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from builder.document import Document, Session
from builder.templates import DIFFICULTIES, Template, all_tags, suggest
from engine.errors import WorkflowFileError

CARD_IMAGE = (240, 150)
SUGGESTED = 3  # how many "Suggested" buttons the search text gets
COLUMNS = 3
ANY = ""


class TemplateCard(QFrame):
    """One template: preview, title, difficulty, tags, what it needs, and a Use button."""

    used = Signal(object)  # Template

    def __init__(self, template: Template, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.template = template
        self.setObjectName(f"card_{template.slug}")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setToolTip(template.description)
        layout = QVBoxLayout(self)
        image = QLabel()
        image.setFixedSize(*CARD_IMAGE)
        image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        if template.preview is not None:
            image.setPixmap(QPixmap(str(template.preview)).scaled(
                *CARD_IMAGE, Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation))
        else:
            image.setText("(no preview)")
        layout.addWidget(image)
        title = QLabel(f"<b>{template.title}</b>")
        layout.addWidget(title)
        self.meta = QLabel(f"{template.difficulty.capitalize()} · {', '.join(template.tags)}")
        self.meta.setProperty("role", "dim")
        self.meta.setWordWrap(True)
        layout.addWidget(self.meta)
        description = QLabel(template.description)
        description.setWordWrap(True)
        layout.addWidget(description)
        self.needs = QLabel("\n".join(template.needs_text()))
        self.needs.setWordWrap(True)
        self.needs.setProperty("role", "dim")
        self.needs.setVisible(bool(template.needs))
        layout.addWidget(self.needs)
        layout.addStretch(1)
        self.use_button = QPushButton("Use")
        self.use_button.setToolTip(f"Open an unsaved copy of {template.title}")
        self.use_button.clicked.connect(lambda: self.used.emit(self.template))
        layout.addWidget(self.use_button, alignment=Qt.AlignmentFlag.AlignRight)
        self.setFixedWidth(CARD_IMAGE[0] + 30)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        self.used.emit(self.template)
        event.accept()


class GalleryDialog(QDialog):
    """Pick a template. After `exec()` returns Accepted, `chosen` is the template picked."""

    def __init__(self, templates: list[Template], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New from Template")
        self.templates = templates
        self.chosen: Template | None = None
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search templates…")
        self.search.setClearButtonEnabled(True)
        self.tag = QComboBox()
        self.tag.addItem("All tags", ANY)
        for tag in all_tags(templates):
            self.tag.addItem(tag, tag)
        self.difficulty = QComboBox()
        self.difficulty.addItem("Any difficulty", ANY)
        for level in DIFFICULTIES:
            self.difficulty.addItem(level.capitalize(), level)
        bar = QHBoxLayout()
        bar.addWidget(self.search, 1)
        bar.addWidget(self.tag)
        bar.addWidget(self.difficulty)

        self.cards = [TemplateCard(t) for t in templates]
        for card in self.cards:
            card.used.connect(self.use)
        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        self.grid.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.grid_host)
        self.empty = QLabel("No template matches.")
        self.empty.setProperty("role", "dim")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)

        # "Suggested": the templates that fit what was typed, ranked by BM25 (engine/suggest.py)
        self.suggested_host = QWidget()
        self.suggested_row = QHBoxLayout(self.suggested_host)
        self.suggested_row.setContentsMargins(0, 0, 0, 0)
        self.suggested_buttons: list[QPushButton] = []
        self.suggested: list[Template] = []

        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.suggested_host)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.empty)
        cancel = QPushButton("Cancel")
        cancel.clicked.connect(self.reject)
        layout.addWidget(cancel, alignment=Qt.AlignmentFlag.AlignRight)

        self.search.textChanged.connect(self.refilter)
        self.tag.currentIndexChanged.connect(self.refilter)
        self.difficulty.currentIndexChanged.connect(self.refilter)
        self.resize(COLUMNS * (CARD_IMAGE[0] + 50) + 40, 720)
        self.refilter()

    def visible_templates(self) -> list[Template]:
        return [card.template for card in self.cards if not card.isHidden()]

    def refilter(self, *_args: object) -> None:
        """Lay out the cards that match the search text, tag and difficulty."""
        text, tag = self.search.text(), self.tag.currentData() or ANY
        level = self.difficulty.currentData() or ANY
        while self.grid.count():
            self.grid.takeAt(0)
        shown = 0
        for card in self.cards:
            match = card.template.matches(text, tag, level)
            card.setHidden(not match)
            if match:
                self.grid.addWidget(card, shown // COLUMNS, shown % COLUMNS)
                shown += 1
        self.empty.setVisible(shown == 0)
        self.show_suggestions(text)

    def show_suggestions(self, text: str) -> None:
        """A "Suggested:" row with a button for each template that fits `text` best."""
        while self.suggested_row.count():
            item = self.suggested_row.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.suggested_buttons = []
        ranked = suggest(text, self.templates)[:SUGGESTED] if text.strip() else []
        if ranked:
            label = QLabel("Suggested:")
            label.setProperty("role", "dim")
            self.suggested_row.addWidget(label)
        for template, _score in ranked:
            button = QPushButton(template.title)
            button.setObjectName(f"suggest_{template.slug}")
            button.setToolTip(f"Open an unsaved copy of {template.title}")
            button.clicked.connect(lambda _=False, t=template: self.use(t))
            self.suggested_row.addWidget(button)
            self.suggested_buttons.append(button)
        self.suggested_row.addStretch(1)
        self.suggested = [t for t, _ in ranked]
        self.suggested_host.setVisible(bool(ranked))

    def suggested_templates(self) -> list[Template]:
        return list(self.suggested)

    def use(self, template: Template) -> None:
        self.chosen = template
        self.accept()


def open_template(session: Session, template: Template, modified: bool = True) -> bool:
    """Put an unsaved copy of `template` in the session's window (asks about unsaved work).

    `modified=False` (the first start's Hello Flowloom) lets the window close without asking."""
    if not session.maybe_discard():
        return False
    try:
        workflow = template.workflow()
    except WorkflowFileError as exc:
        session.prompts.error(session.window, "Cannot open template", str(exc))
        return False
    document = Document(workflow, None, parent=session)
    document.template = template  # an unsaved copy runs in its own documents folder
    if modified:  # a copy that was never saved: the title says so, Save asks where
        document.mark_modified()
    session.replace_document(document)
    session.message.emit(f"New workflow from the template {template.title}"
                         + (f" — {template.needs_text()[0]}" if template.needs else ""))
    return True
