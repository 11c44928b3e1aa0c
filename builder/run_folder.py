"""Where a workflow's relative paths start when the editor runs it (`Services.base_dir`).

A saved workflow: its file's folder. An unsaved copy of a template: a folder of its own in the
user's documents, `Flowloom/<template>/`, into which the template's sample data (the files beside
the template that its text names, e.g. sales.csv) is copied the first time — so the gallery's
templates run as they are, read their sample data and write their outputs where the person can
find them. Any other unsaved workflow: `Flowloom/` in the documents folder. Never the install
folder, never the process's working directory. Qt-free: the caller passes the documents folder.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

from engine.fileformat import SUFFIX

log = logging.getLogger(__name__)

DOCUMENTS_ENV = "FLOWLOOM_DOCUMENTS_DIR"  # overrides the platform's documents folder
APP_FOLDER = "Flowloom"
_NOT_DATA = (SUFFIX, ".png")


def documents_dir(platform_documents: str | Path | None = None) -> Path:
    """The documents folder: $FLOWLOOM_DOCUMENTS_DIR, the platform's one, or ~/Documents."""
    given = os.environ.get(DOCUMENTS_ENV) or platform_documents
    return Path(given).expanduser() if given else Path.home() / "Documents"


def sample_files(template_path: Path) -> list[Path]:
    """The files beside a template that its text names (its sample data)."""
    try:
        text = template_path.read_text(encoding="utf-8")
    except OSError:
        return []
    return sorted(p for p in template_path.parent.iterdir()
                  if p.is_file() and not p.name.endswith(_NOT_DATA) and f'"{p.name}"' in text)


def run_folder(path: Path | None, template: Any, documents: Path) -> Path:
    """The folder relative paths start at (made if missing; sample data copied in, never
    over a file the person changed)."""
    if path is not None:
        return Path(path).parent
    folder = documents / APP_FOLDER
    if template is None:
        return folder  # made by the first write into it (file.write makes folders)
    folder = folder / template.slug
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for sample in sample_files(Path(template.path)):
            target = folder / sample.name
            if not target.exists():
                shutil.copyfile(sample, target)
    except OSError as exc:  # the run then says which file it could not read or write
        log.warning("cannot prepare %s: %s", folder, exc)
    return folder


def shown(folder: Path) -> str:
    """The folder as a person reads it (~ for the home folder)."""
    try:
        return "~/" + str(folder.relative_to(Path.home()))
    except ValueError:
        return str(folder)
