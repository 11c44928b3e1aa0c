"""Short names for the recent-files list: a file's name, and where two listed files share it,
as many of their parent folders as it takes to tell them apart ("flow.loom.json — a/work")."""

from __future__ import annotations

from pathlib import PurePath


def short_names(paths: list[str]) -> dict[str, str]:
    """Each path's label; labels are unique unless two paths are the same file."""
    parts = {path: PurePath(path).parts for path in paths}
    depth = {path: 0 for path in paths}  # parent folders shown beyond the name
    while True:
        labels = {path: _label(parts[path], depth[path]) for path in paths}
        seen: dict[str, list[str]] = {}
        for path, label in labels.items():
            seen.setdefault(label, []).append(path)
        grew = False
        for same in seen.values():
            if len(same) < 2:
                continue
            for path in same:
                if depth[path] < len(parts[path]) - 1:
                    depth[path] += 1
                    grew = True
        if not grew:
            return labels


def _label(parts: tuple[str, ...], depth: int) -> str:
    name = parts[-1] if parts else ""
    if depth == 0:
        return name
    folders = [p.rstrip("/\\") or p for p in parts[-1 - depth:-1]]
    return f"{name} — {'/'.join(folders)}"
