"""File nodes: read text/JSON/CSV, write atomically (never overwriting unless asked), list a folder.

Relative paths start at the workflow file's folder (`ctx.base_dir`); every path is checked
against the run's grants (`ctx.check_read` / `ctx.check_write`) before it is touched. Writes go
to a temporary file in the target folder, are flushed to disk, then renamed into place, so a
reader never sees half a file. With `overwrite` off the rename is a hard link, which fails if
the target appeared meanwhile, so an existing file is never replaced.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from engine.errors import NodeFailure
from engine.nodetype import NodeType, Param, Port
from engine.permissions import READ, WRITE, Need, path_need

FORMATS = ("auto", "text", "json", "csv")
_BY_SUFFIX = {".json": "json", ".csv": "csv"}


def resolve(ctx: Any, path: str) -> Path:
    if not isinstance(path, str) or not path.strip():
        raise NodeFailure("no path given (set the `path` parameter or wire the `path` input)")
    p = Path(path).expanduser()
    return p if p.is_absolute() else Path(ctx.base_dir) / p


def _format(fmt: str, path: Path) -> str:
    return _BY_SUFFIX.get(path.suffix.lower(), "text") if fmt == "auto" else fmt


def read_file(path: Path, fmt: str, encoding: str, header: bool) -> Any:
    try:
        text = path.read_text(encoding=encoding)
    except FileNotFoundError:
        raise NodeFailure(f"file {path} does not exist") from None
    except IsADirectoryError:
        raise NodeFailure(f"{path} is a folder, not a file") from None
    except PermissionError:
        raise NodeFailure(f"no permission to read {path}") from None
    except UnicodeDecodeError as exc:
        raise NodeFailure(f"{path} is not {encoding} text (byte {exc.start}); "
                          f"set `encoding`") from None
    except LookupError:
        raise NodeFailure(f"unknown encoding {encoding!r}") from None
    if fmt == "json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise NodeFailure(f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}, "
                              f"column {exc.colno}") from None
    if fmt == "csv":
        try:
            rows = list(csv.reader(io.StringIO(text, newline="")))
        except csv.Error as exc:
            raise NodeFailure(f"{path} is not valid CSV: {exc}") from None
        if not header:
            return rows
        if not rows:
            return []
        names = rows[0]
        return [dict(zip(names, row)) for row in rows[1:]]
    return text


def render_content(content: Any, fmt: str, path: Path) -> str:
    if fmt == "json":
        try:
            return json.dumps(content, indent=2, ensure_ascii=False) + "\n"
        except (TypeError, ValueError) as exc:
            raise NodeFailure(f"the content cannot be written as JSON: {exc}") from None
    if fmt == "csv":
        if not isinstance(content, list):
            raise NodeFailure(f"CSV content must be a list of rows (dicts or lists), got "
                              f"{type(content).__name__}")
        out = io.StringIO(newline="")
        if content and all(isinstance(r, dict) for r in content):
            names = list(dict.fromkeys(k for row in content for k in row))
            writer = csv.DictWriter(out, fieldnames=names, lineterminator="\n")
            writer.writeheader()
            writer.writerows(content)
        elif all(isinstance(r, (list, tuple)) for r in content):
            csv.writer(out, lineterminator="\n").writerows(content)
        else:
            raise NodeFailure("CSV rows must be all dicts or all lists")
        return out.getvalue()
    if isinstance(content, str):
        return content
    raise NodeFailure(f"text content must be a string, got {type(content).__name__} "
                      f"(choose format json, or turn it into text first)")


def write_atomic(path: Path, data: bytes, overwrite: bool) -> None:
    """Write `data` to `path` all at once; refuse to replace an existing file unless asked."""
    if not overwrite and path.exists():
        raise NodeFailure(f"{path} already exists; turn on `overwrite` to replace it")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)  # fails if the file appeared since the check above
            except FileExistsError:
                raise NodeFailure(f"{path} already exists; turn on `overwrite` to replace "
                                  f"it") from None
            except OSError:  # a file system without hard links: best effort
                if path.exists():
                    raise NodeFailure(f"{path} already exists; turn on `overwrite` to "
                                      f"replace it") from None
                os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


class ReadFile(NodeType):
    type_id = "file.read"
    title = "Read file"
    category = "Files"
    description = "Reads a text, JSON or CSV file (CSV gives a list of rows)."
    inputs = (Port("path", "str", required=False, help="overrides the `path` parameter"),)
    outputs = (Port("out"),)
    parameters = (
        Param("path", "str", default="", help="relative to the workflow's folder"),
        Param("format", "str", default="auto", choices=FORMATS,
              help="auto: by extension (.json, .csv, else text)"),
        Param("encoding", "str", default="utf-8"),
        Param("header", "bool", default=True,
              help="CSV: the first row names the columns (rows become dicts)"),
    )
    summary_param = "path"

    @classmethod
    def needs(cls, params: dict[str, Any], base_dir: Path | None) -> list[Need]:
        return [path_need(READ, params["path"], base_dir, "path", port="path")]

    def run(self, ctx: Any, path: str | None = None) -> dict[str, Any]:
        target = resolve(ctx, path or self.params["path"])
        ctx.check_read(target)
        fmt = _format(self.params["format"], target)
        return {"out": read_file(target, fmt, self.params["encoding"], self.params["header"])}


class WriteFile(NodeType):
    type_id = "file.write"
    title = "Write file"
    category = "Files"
    description = ("Writes text, JSON or CSV atomically (bytes as they are); refuses to "
                   "overwrite unless asked.")
    inputs = (Port("content"),
              Port("path", "str", required=False, help="overrides the `path` parameter"))
    outputs = (Port("path", "str", help="the absolute path written"),)
    parameters = (
        Param("path", "str", default="", help="relative to the workflow's folder"),
        Param("format", "str", default="auto", choices=FORMATS,
              help="auto: by extension (.json, .csv, else text)"),
        Param("overwrite", "bool", default=False, help="replace the file if it exists"),
        Param("make_folders", "bool", default=True, help="create missing parent folders"),
        Param("encoding", "str", default="utf-8"),
    )
    summary_param = "path"

    @classmethod
    def needs(cls, params: dict[str, Any], base_dir: Path | None) -> list[Need]:
        return [path_need(WRITE, params["path"], base_dir, "path", port="path")]

    def run(self, ctx: Any, content: Any, path: str | None = None) -> dict[str, Any]:
        target = resolve(ctx, path or self.params["path"])
        ctx.check_write(target)
        if isinstance(content, (bytes, bytearray)):
            data = bytes(content)  # bytes (an HTTP body, say) are written as they are
        else:
            text = render_content(content, _format(self.params["format"], target), target)
            try:
                data = text.encode(self.params["encoding"])
            except (LookupError, UnicodeEncodeError) as exc:
                raise NodeFailure(f"cannot encode the content as {self.params['encoding']}: "
                                  f"{exc}") from None
        if not target.parent.is_dir():
            if not self.params["make_folders"]:
                raise NodeFailure(f"folder {target.parent} does not exist")
            target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_dir():
            raise NodeFailure(f"{target} is a folder")
        try:
            write_atomic(target, data, self.params["overwrite"])
        except PermissionError:
            raise NodeFailure(f"no permission to write {target}") from None
        ctx.log("info", f"wrote {len(data)} bytes to {target}")
        return {"path": str(target.resolve())}


class ListFiles(NodeType):
    type_id = "file.list"
    title = "List files"
    category = "Files"
    description = "Lists the files in a folder that match a glob pattern, sorted by name."
    inputs = (Port("folder", "str", required=False, help="overrides the `folder` parameter"),)
    outputs = (Port("files", "list"),)
    parameters = (
        Param("folder", "str", default=".", help="relative to the workflow's folder"),
        Param("pattern", "str", default="*", help="glob, e.g. *.csv or **/*.md"),
        Param("recursive", "bool", default=False, help="look in subfolders too"),
        Param("include_folders", "bool", default=False, help="list matching folders too"),
    )
    summary_param = "pattern"

    @classmethod
    def needs(cls, params: dict[str, Any], base_dir: Path | None) -> list[Need]:
        return [path_need(READ, params["folder"], base_dir, "folder", port="folder")]

    def run(self, ctx: Any, folder: str | None = None) -> dict[str, Any]:
        given = folder or self.params["folder"]
        root = resolve(ctx, given)
        ctx.check_read(root)
        if not root.is_dir():
            raise NodeFailure(f"folder {root} does not exist")
        pattern = self.params["pattern"] or "*"
        found = root.rglob(pattern) if self.params["recursive"] else root.glob(pattern)
        keep = [p for p in found if p.is_file() or (self.params["include_folders"] and p.is_dir())]
        # Paths come out as given (relative stays relative) so they feed file.read directly.
        return {"files": sorted(str(Path(given) / p.relative_to(root)) for p in keep)}


TYPES: tuple[type[NodeType], ...] = (ReadFile, WriteFile, ListFiles)
