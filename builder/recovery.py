"""Autosave and crash recovery: nothing the user drew is lost when the editor dies.

Each open document has a recovery file in `<data folder>/recovery/` named by a short token:
`<token>.loom.json` holds the workflow exactly as the file format writes it (engine.fileformat
dumps + atomic write), and `<token>.meta.json` the original path (or null), the time and the
process id. `Autosave` rewrites them about a second after the last change, and removes them when
the document is clean again (saved, undone to the saved state) or closed. Whatever is left in the
folder at the next start is a crash survivor that the window offers to restore.

Recovery files are private (0600 in 0700 folders, engine/private.py) and never hold a literal
secret: a secret parameter holding the secret itself instead of a credential name is written
empty (engine/secretparams.py), so the restored document asks for the name again.

The data folder is `$FLOWLOOM_DATA_DIR` if set (tests use a temporary one), else the per-user
data folder from platformdirs.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import platformdirs
from PySide6.QtCore import QObject, QTimer

from engine.errors import WorkflowFileError
from engine.fileformat import dumps
from engine.model import Workflow
from engine.private import private_dir, write_private_text
from engine.secretparams import without_literal_secrets

log = logging.getLogger(__name__)

DEBOUNCE_MS = 1000


def data_dir() -> Path:
    """The per-user data folder (created if missing); FLOWLOOM_DATA_DIR overrides it."""
    override = os.environ.get("FLOWLOOM_DATA_DIR")
    path = Path(override) if override else Path(platformdirs.user_data_dir("flowloom", "Flowloom"))
    return private_dir(path)


def recovery_dir() -> Path:
    return private_dir(data_dir() / "recovery")


@dataclass(frozen=True)
class Recovery:
    """One recovery file left by an earlier session."""

    token: str
    workflow_file: Path
    original: str | None  # the path the document had, or None for an unsaved new one
    saved_at: float  # time.time() of the last autosave
    pid: int

    @property
    def display_name(self) -> str:
        return Path(self.original).name if self.original else "Untitled"

    def text(self) -> str:
        return self.workflow_file.read_text(encoding="utf-8")

    def discard(self) -> None:
        remove_recovery(self.workflow_file.parent, self.token)


def remove_recovery(folder: Path, token: str) -> None:
    for suffix in (".loom.json", ".meta.json"):
        try:
            (folder / f"{token}{suffix}").unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:  # a stale file is harmless; never fail a save over it
            log.warning("could not remove recovery file %s%s: %s", token, suffix, exc)


def _process_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but not ours (PermissionError) — treat as alive
        return True
    return True


def find_recoveries(folder: Path | None = None) -> list[Recovery]:
    """Recovery files left by sessions that are gone (or by this process), newest first.

    Files of another editor process that is still running belong to it and are left alone.
    """
    folder = folder or recovery_dir()
    found = []
    for meta_file in folder.glob("*.meta.json"):
        token = meta_file.name[: -len(".meta.json")]
        workflow_file = folder / f"{token}.loom.json"
        if not workflow_file.exists():
            continue
        try:
            meta = json.loads(meta_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            log.warning("ignoring unreadable recovery metadata %s", meta_file)
            continue
        pid = int(meta.get("pid", 0) or 0)
        if pid != os.getpid() and _process_alive(pid):
            continue
        found.append(Recovery(token, workflow_file, meta.get("original"),
                              float(meta.get("saved_at", 0.0)), pid))
    found.sort(key=lambda r: r.saved_at, reverse=True)
    return found


class Autosave(QObject):
    """Writes one document's recovery file, debounced, while it has unsaved changes.

    `workflow` and `path` are read through callables so the owner can swap documents; call
    `changed()` after every model change, `settle()` after a save or when closing.
    """

    def __init__(self, workflow: Callable[[], Workflow | None],
                 original: Callable[[], str | None], modified: Callable[[], bool],
                 folder: Path | None = None, delay_ms: int = DEBOUNCE_MS,
                 parent: QObject | None = None, registry: object | None = None) -> None:
        super().__init__(parent)
        self._registry = registry  # tells which parameters are secret
        self._workflow = workflow
        self._original = original
        self._modified = modified
        self._folder = folder
        self.token = os.urandom(6).hex()  # (uuid would import `platform`: start-up time)
        self.writes = 0  # how many recovery files were written (tests wait on it)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self.write_now)

    @property
    def folder(self) -> Path:
        return self._folder or recovery_dir()

    @property
    def workflow_file(self) -> Path:
        return self.folder / f"{self.token}.loom.json"

    def changed(self) -> None:
        """A change happened: (re)start the debounce timer."""
        self._timer.start()

    def pending(self) -> bool:
        return self._timer.isActive()

    def write_now(self) -> None:
        self._timer.stop()
        workflow = self._workflow()
        if workflow is None or not self._modified():
            self.discard()
            return
        folder = self.folder
        try:
            private_dir(folder)
            text = dumps(without_literal_secrets(workflow, self._registry))
            write_private_text(folder / f"{self.token}.loom.json", text)
            meta = {"original": self._original(), "saved_at": time.time(), "pid": os.getpid()}
            write_private_text(folder / f"{self.token}.meta.json",
                               json.dumps(meta, indent=2) + "\n")
            self.writes += 1
        except (OSError, UnicodeError, WorkflowFileError) as exc:  # a value it cannot write
            log.warning("autosave to %s failed: %s", folder, exc)

    def settle(self) -> None:
        """After a save or on close: nothing pending, and no recovery file if clean."""
        self._timer.stop()
        if not self._modified():
            self.discard()

    def discard(self) -> None:
        self._timer.stop()
        remove_recovery(self.folder, self.token)
