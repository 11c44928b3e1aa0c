"""The open workflow and the File operations on it.

`Document` is one workflow being edited: its path, its QUndoStack, and whether it is modified
(the stack's clean state, nothing else). `Session` is the document shown in one window plus what
the File menu does with it: New, Open, Open Recent, Save, Save As, Close — each asking about
unsaved changes where that belongs — the recent-files list (QSettings) and the autosave/recovery
of `builder.recovery`. Files are read and written only through `engine.fileformat`; a file that
cannot be read opens nothing and the loader's own message is shown.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QWidget

from builder.dialogs import CANCEL, SAVE, Prompts
from builder.recovery import Autosave, Recovery, find_recoveries
from engine.errors import WorkflowFileError
from engine.fileformat import SUFFIX, load, loads, save
from engine.model import TOPICS, Workflow
from engine.registry import upgrade_type_ids
from engine.trust import SAVED, TrustStore
from nodes.credentials import secret_literal_problems

log = logging.getLogger(__name__)

RECENT_KEY = "recent_files"
RECENT_LIMIT = 10
_TOPICS = TOPICS  # every model change, frames included


class Document(QObject):
    """One workflow being edited. `changed` fires after every model change; `path_changed(Path)`
    only when a save put it at another path (what History and Analytics follow: an edit, a wire
    drag or undo never moves the file, so they never re-query for one)."""

    changed = Signal()
    modified_changed = Signal(bool)
    path_changed = Signal(object)  # the new Path

    def __init__(self, workflow: Workflow, path: str | Path | None = None,
                 parent: QObject | None = None, trusted: bool = True) -> None:
        super().__init__(parent)
        self.workflow = workflow
        # False for a file from elsewhere until the person trusts it (builder/trust_banner.py);
        # only a trusted document's saves are recorded as trusted.
        self.trusted = trusted
        self.path = Path(path) if path else None
        self.template: object = None  # the Template an unsaved copy came from (gallery)
        self.undo_stack = QUndoStack(self)
        self.undo_stack.cleanChanged.connect(self._on_clean_changed)
        self._unsubscribe = [getattr(workflow, t).subscribe(self._on_model_change)
                             for t in _TOPICS]

    def _on_clean_changed(self, clean: bool) -> None:
        self.modified_changed.emit(not clean)

    def _on_model_change(self, *_args: object) -> None:
        self.changed.emit()

    @property
    def modified(self) -> bool:
        return not self.undo_stack.isClean()

    @property
    def display_name(self) -> str:
        """The file's name, or while unsaved the workflow's own name (a template's title)."""
        return self.path.name if self.path else (self.workflow.name or "Untitled")

    def mark_modified(self) -> None:
        """Modified with nothing to undo (a restored recovery file): only a save cleans it."""
        self.undo_stack.resetClean()

    def save_to(self, path: str | Path) -> None:
        """Write atomically through the file format, then this is the document's clean state."""
        save(self.workflow, path)
        if self.trusted:
            try:
                TrustStore().record(path, SAVED)
            except OSError as exc:  # the file is saved; it just will not be trusted
                log.warning("could not record %s in the trust store: %s", path, exc)
        old, self.path = self.path, Path(path)
        self.undo_stack.setClean()
        if self.path != old:
            self.path_changed.emit(self.path)

    def close(self) -> None:
        """Stop following the model (the canvas unsubscribes on its own)."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        self.undo_stack.clear()


class RecentFiles:
    """The most recently opened or saved files, newest first, kept in QSettings."""

    def __init__(self, settings: QSettings) -> None:
        self.settings = settings

    def paths(self) -> list[str]:
        value = self.settings.value(RECENT_KEY, [])
        if isinstance(value, str):  # QSettings returns a lone entry as a plain string
            value = [value]
        return [str(p) for p in (value or [])]

    def add(self, path: str | Path) -> None:
        path = str(Path(path).resolve())
        paths = [path] + [p for p in self.paths() if p != path]
        self.settings.setValue(RECENT_KEY, paths[:RECENT_LIMIT])

    def remove(self, path: str | Path) -> None:
        self.settings.setValue(RECENT_KEY, [p for p in self.paths() if p != str(path)])

    def clear(self) -> None:
        self.settings.setValue(RECENT_KEY, [])


class Session(QObject):
    """The document of one window and the File operations on it.

    `document_replaced(Document)` fires when New/Open/Close/restore put another document in
    place; `message(str)` carries status-bar text; `recent_changed()` after the list changes.
    """

    document_replaced = Signal(object)
    message = Signal(str)
    recent_changed = Signal()

    def __init__(self, registry: object, settings: QSettings, prompts: Prompts | None = None,
                 window: QWidget | None = None, recovery_folder: Path | None = None) -> None:
        super().__init__(window)
        self.registry = registry
        self.prompts = prompts or Prompts.default()
        self.window = window
        self.recent = RecentFiles(settings)
        self.document = Document(Workflow(name="Untitled"), parent=self)
        self.autosave = Autosave(lambda: self.document.workflow, self._original_path,
                                 lambda: self.document.modified, folder=recovery_folder,
                                 parent=self, registry=registry)
        self._connect(self.document)

    # --- the current document --------------------------------------------------------------
    def _original_path(self) -> str | None:
        return str(self.document.path) if self.document.path else None

    def _connect(self, document: Document) -> None:
        document.changed.connect(self.autosave.changed)
        document.modified_changed.connect(self._on_modified_changed)

    def _on_modified_changed(self, modified: bool) -> None:
        if not modified:
            self.autosave.settle()

    def replace_document(self, document: Document) -> None:
        old = self.document
        self.autosave.discard()
        self.document = document
        self._connect(document)
        self.document_replaced.emit(document)
        old.close()
        old.deleteLater()

    def maybe_discard(self) -> bool:
        """True if the current document may go: unmodified, saved, or the user said discard."""
        if not self.document.modified:
            return True
        answer = self.prompts.unsaved(self.window, self.document.display_name)
        if answer == SAVE:
            return self.save()
        return answer != CANCEL

    # --- File menu -------------------------------------------------------------------------
    def new(self) -> bool:
        if not self.maybe_discard():
            return False
        self.replace_document(Document(Workflow(name="Untitled"), parent=self))
        self.message.emit("New workflow")
        return True

    def open(self, path: str | Path | None = None) -> bool:
        """Open a file (asking which when `path` is None). Nothing changes if it fails."""
        if not self.maybe_discard():
            return False
        if path is None:
            start = str(self.document.path.parent) if self.document.path else str(Path.home())
            path = self.prompts.open_path(self.window, start)
            if not path:
                return False
        return self.open_file(path)

    def open_file(self, path: str | Path) -> bool:
        """Open `path` without asking about the current document (the caller did)."""
        path = Path(path)
        try:
            loaded = load(path)  # structure only; the problems panel checks the rest
            upgrade_type_ids(loaded.workflow, self.registry)  # a renamed type: its id now
        except WorkflowFileError as exc:
            self.prompts.error(self.window, "Cannot open workflow", str(exc))
            self.message.emit(f"Could not open {path.name}")
            if not path.exists():
                self.recent.remove(path)
                self.recent_changed.emit()
            return False
        self.replace_document(Document(loaded.workflow, path, parent=self,
                                       trusted=TrustStore().is_trusted(path)))
        self.recent.add(path)
        self.recent_changed.emit()
        if loaded.problems:
            listing = "\n".join(f"• {p}" for p in loaded.problems[:12])
            self.prompts.error(self.window, "Parts of the workflow could not be read",
                               f"{path.name} was opened, but some entries were left out:\n"
                               f"{listing}")
        self.message.emit(f"Opened {path}")
        return True

    def save(self) -> bool:
        if self.document.path is None:
            return self.save_as()
        return self._save_to(self.document.path)

    def save_as(self) -> bool:
        document = self.document
        folder = document.path.parent if document.path else Path.home()
        stem = document.path.name if document.path else _file_stem(document.workflow.name)
        path = self.prompts.save_path(self.window, str(folder / stem))
        if not path:
            return False
        if not path.endswith((".json", ".JSON")):
            path += SUFFIX
        return self._save_to(Path(path))

    def _save_to(self, path: Path) -> bool:
        literal = secret_literal_problems(self.document.workflow, self.registry)
        if literal:  # a secret never goes into a workflow file
            listing = "\n".join(f"• {p}" for p in literal)
            self.prompts.error(self.window, "Cannot save a secret in the workflow file",
                               f"{path.name} was not written:\n{listing}")
            return False
        try:
            self.document.save_to(path)
        except (OSError, WorkflowFileError) as exc:
            self.prompts.error(self.window, "Cannot save workflow",
                               f"{path} could not be written: {exc}")
            return False
        self.autosave.settle()
        self.recent.add(path)
        self.recent_changed.emit()
        self.message.emit(f"Saved {path}")
        return True

    def close(self) -> bool:
        """Close the document, leaving an empty one in the window."""
        if not self.maybe_discard():
            return False
        self.replace_document(Document(Workflow(name="Untitled"), parent=self))
        return True

    def shutdown(self) -> bool:
        """Before the window closes or the app quits: ask, then leave no recovery file."""
        if not self.maybe_discard():
            return False
        self.autosave.discard()
        return True

    # --- recovery --------------------------------------------------------------------------
    def recoveries(self) -> list[Recovery]:
        return [r for r in find_recoveries(self.autosave.folder)
                if r.token != self.autosave.token]

    def offer_recovery(self) -> list[Recovery]:
        """Offer what crashed sessions left. Restores the newest here; returns the others
        (the window opens them in windows of their own). Declined files are deleted."""
        found = self.recoveries()
        if not found:
            return []
        if not self.prompts.restore(self.window, found):
            for recovery in found:
                recovery.discard()
            self.message.emit("Discarded the unsaved work of the last session")
            return []
        self.restore(found[0])
        return found[1:]

    def restore(self, recovery: Recovery) -> bool:
        try:
            loaded = loads(recovery.text(), source=f"the recovery file {recovery.workflow_file}")
            upgrade_type_ids(loaded.workflow, self.registry)
        except (OSError, WorkflowFileError) as exc:
            self.prompts.error(self.window, "Cannot restore", str(exc))
            return False
        # Work restored over a file from elsewhere stays untrusted, like the file.
        trusted = recovery.original is None or TrustStore().is_trusted(recovery.original)
        document = Document(loaded.workflow, recovery.original, parent=self, trusted=trusted)
        document.mark_modified()
        self.replace_document(document)
        recovery.discard()
        self.autosave.write_now()  # the restored work is safe again right away
        self.message.emit(f"Restored unsaved work of {recovery.display_name}")
        return True


def _file_stem(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "-_ " else "_" for c in name).strip()
    return (cleaned.replace(" ", "-").lower() or "untitled") + SUFFIX
