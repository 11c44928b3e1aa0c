"""The frames part of the file format: the top-level "frames" list <-> `Frame` objects.

engine/fileformat.py reads and writes workflow files and calls these two for the frames. A frame
record is written as {"id", "title", "color" (when set), "nodes"} then its unknown keys sorted, the
shape the editor has always written, so files written before load and save back byte for byte.
"""

from __future__ import annotations

from typing import Any

from engine.errors import Problem
from engine.model import Frame, Workflow

FRAMES_KEY = "frames"  # the document key of the frames list
_FRAME_KEYS = ("id", "title", "color", "nodes")


def read_frames(raw: list[Any], problems: list[Problem]) -> list[Frame]:
    """The frames list -> Frames. A frame with no id (or a repeated one) gets a fresh id, so
    nothing a person wrote is lost; an entry that is not an object is left out."""
    frames: dict[str, Frame] = {}
    unnamed: list[Frame] = []
    for index, entry in enumerate(raw):
        where = f"frame #{index + 1}"
        if not isinstance(entry, dict):
            problems.append(Problem(f"{where} is not a JSON object; it was left out"))
            continue
        frame = Frame(id="", extra={k: v for k, v in entry.items() if k not in _FRAME_KEYS})
        title, color, members = entry.get("title", ""), entry.get("color"), entry.get("nodes", [])
        if isinstance(title, str):
            frame.title = title
        else:
            problems.append(Problem(f'the "title" of {where} must be a string'))
        if color is None or isinstance(color, str):
            frame.color = color
        else:
            problems.append(Problem(f'the "color" of {where} must be a string'))
        if isinstance(members, list) and all(isinstance(n, str) for n in members):
            frame.nodes = list(members)
        else:
            problems.append(Problem(f'the "nodes" of {where} must be a list of node ids'))
            frame.nodes = [n for n in members if isinstance(n, str)] \
                if isinstance(members, list) else []
        frame_id = entry.get("id")
        if isinstance(frame_id, str) and frame_id and frame_id not in frames:
            frame.id = frame_id
            frames[frame_id] = frame
        else:
            unnamed.append(frame)
    for frame in unnamed:  # after the named ones, so a fresh id never takes a written one
        number = 1
        while f"f{number}" in frames:
            number += 1
        frame.id = f"f{number}"
        frames[frame.id] = frame
    return list(frames.values())


def frame_records(workflow: Workflow) -> list[dict[str, Any]]:
    records = []
    for frame in workflow.frames.values():
        entry: dict[str, Any] = {"id": frame.id, "title": frame.title}
        if frame.color is not None:
            entry["color"] = frame.color
        entry["nodes"] = list(frame.nodes)
        for key in sorted(frame.extra):
            entry[key] = frame.extra[key]
        records.append(entry)
    return records
