"""Files that hold a person's data, readable by that person only: folders 0700, files 0600.

Used for the run history DB, the memory DB, the credentials file, the trust store and the
editor's autosave and recovery files. Modes are set explicitly (chmod after creation, and
`os.open(..., 0o600)` for new files), so they do not depend on the process umask. A folder that
already exists is tightened only when it is one of Flowloom's own (`private_dir(path)` is called
on the folder that holds the private files, never on a parent the person chose, such as their
home folder). On Windows the modes mean little; files there are private through the per-user
profile folders they live in.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

DIR_MODE = 0o700
FILE_MODE = 0o600
POSIX = os.name == "posix"


def private_dir(path: str | os.PathLike[str], *, own: bool = True) -> Path:
    """Create `path` (and missing parents) as 0700 folders. An existing `path` is made 0700
    too when it is Flowloom's `own` folder; a folder the person chose (`own=False`, e.g. the
    folder of `--history-db`) is left as it is, and only the files in it are private."""
    path = Path(path)
    missing = [path, *path.parents]
    missing = [folder for folder in missing if not folder.exists()]
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    for folder in missing:  # mkdir's mode is filtered by the umask: say it explicitly
        _chmod(folder, DIR_MODE)
    if own and path not in missing:
        _chmod(path, DIR_MODE)
    return path


def private_file(path: str | os.PathLike[str]) -> Path:
    """Make sure the file at `path` exists and is 0600 (its folder must exist)."""
    path = Path(path)
    if POSIX:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
        try:
            os.fchmod(fd, FILE_MODE)  # an existing file keeps its old mode otherwise
        finally:
            os.close(fd)
    else:
        path.touch(exist_ok=True)
    return path


def tighten(path: str | os.PathLike[str]) -> None:
    """Make an existing file 0600 (or a folder 0700); a missing one is ignored."""
    path = Path(path)
    with contextlib.suppress(FileNotFoundError):
        _chmod(path, DIR_MODE if path.is_dir() else FILE_MODE)


SQLITE_SIDECARS = ("-wal", "-shm", "-journal")


def private_sqlite(path: str | os.PathLike[str], *, own_folder: bool = True) -> Path:
    """Prepare the SQLite database file `path`: its folder (see private_dir), the file itself
    created empty as 0600 before SQLite opens it (SQLite gives its -wal, -shm and -journal files
    the database file's mode), and any such file left by an older version made 0600 too."""
    path = Path(path)
    private_dir(path.parent, own=own_folder)
    private_file(path)
    for suffix in SQLITE_SIDECARS:
        tighten(path.with_name(path.name + suffix))
    return path


def write_private_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write `text` to `path` atomically (temp file in the same folder, fsync, rename), as a
    0600 file in a 0700 folder: it is never readable by others, not even for a moment."""
    path = Path(path)
    folder = private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        if POSIX:
            os.fchmod(fd, FILE_MODE)  # mkstemp makes 0600 already; say so explicitly
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def _chmod(path: Path, mode: int) -> None:
    if not POSIX:
        return
    try:
        os.chmod(path, mode)
    except PermissionError as exc:  # not ours (a shared folder): say so, do not fail
        log.warning("cannot make %s private (mode %o): %s", path, mode, exc)
