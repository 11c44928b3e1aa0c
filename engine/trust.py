"""The trust store: which workflow files this person has trusted, by the hash of their bytes.

A file is trusted when the sha256 of its exact bytes is recorded here: because the editor saved
it on this machine ("saved"), or because the person said so (`flowloom trust FILE`, --trust,
the editor's "Trust this file": "trusted"). Changing one byte outside Flowloom makes it a
different file, untrusted again. The templates and examples that ship in Flowloom's
`resources/` folder are trusted where they are.

The store is one JSON file, `trust.json`, in the user's config folder
(`$FLOWLOOM_CONFIG_DIR`, else platformdirs' user config dir), readable by the user only (0600
in a 0700 folder), rewritten atomically. It keeps the newest MAX_RECORDS records.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import platformdirs

log = logging.getLogger(__name__)

CONFIG_DIR_ENV = "FLOWLOOM_CONFIG_DIR"
FILE_NAME = "trust.json"
MAX_RECORDS = 5000
SHIPPED = Path(__file__).resolve().parent.parent / "resources"
SAVED, TRUSTED = "saved", "trusted"


def config_dir() -> Path:
    override = os.environ.get(CONFIG_DIR_ENV)
    return Path(override).expanduser() if override else Path(
        platformdirs.user_config_dir("flowloom"))


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def is_shipped(path: str | os.PathLike[str]) -> bool:
    """A template or example that ships with Flowloom, in its own resources folder."""
    real = os.path.realpath(path)
    return any(real.startswith(str(SHIPPED / sub) + os.sep) for sub in ("templates", "examples"))


class TrustStore:
    """Trusted content hashes. Each call reads the file, so several processes agree."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = Path(folder) if folder is not None else config_dir()
        self.path = self.folder / FILE_NAME

    def _records(self) -> dict[str, dict[str, Any]]:
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:  # unreadable: trust nothing, say why once
            log.warning("the trust store %s cannot be read (%s); no file is trusted", self.path,
                        exc)
            return {}
        records = doc.get("files") if isinstance(doc, dict) else None
        return {k: v for k, v in records.items() if isinstance(v, dict)} \
            if isinstance(records, dict) else {}

    def is_trusted(self, path: str | os.PathLike[str], data: bytes | None = None) -> bool:
        """Whether the file (or `data`, the bytes read from it) is trusted."""
        if is_shipped(path):
            return True
        try:
            data = Path(path).read_bytes() if data is None else data
        except OSError:
            return False
        return content_hash(data) in self._records()

    def record(self, path: str | os.PathLike[str], how: str = TRUSTED,
               data: bytes | None = None) -> str:
        """Trust the file's current bytes (or `data`); returns their hash."""
        data = Path(path).read_bytes() if data is None else data
        digest = content_hash(data)
        records = self._records()
        records.pop(digest, None)  # re-added last: the newest records are the ones kept
        records[digest] = {"path": str(Path(path).resolve()), "how": how, "at": time.time()}
        while len(records) > MAX_RECORDS:
            records.pop(next(iter(records)))
        self._write({"files": records})
        return digest

    def forget(self, path: str | os.PathLike[str]) -> bool:
        """Untrust the file's current bytes; True if they were trusted."""
        records = self._records()
        found = records.pop(content_hash(Path(path).read_bytes()), None) is not None
        if found:
            self._write({"files": records})
        return found

    def _write(self, doc: dict[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        with contextlib.suppress(OSError):
            os.chmod(self.folder, 0o700)
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=f".{FILE_NAME}.", suffix=".tmp")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(doc, handle, indent=1, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
