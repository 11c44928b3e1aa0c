"""Arranging node rectangles: the moves that align or distribute them (pure geometry, no Qt).

Rectangles are (x, y, width, height) with the position at the top-left, as nodes are drawn; the
result maps each node id to (old position, new position), the shape MoveNodesCommand takes.
"""

from __future__ import annotations

from collections.abc import Callable

Rect = tuple[float, float, float, float]
Moves = dict[str, tuple[tuple[float, float], tuple[float, float]]]


def align_moves(rects: dict[str, tuple[float, float, float, float]], edge: str
                ) -> dict[str, tuple[tuple[float, float], tuple[float, float]]]:
    """Moves lining up node rectangles (x, y, w, h; position = top-left) along `edge`."""
    if not rects:
        return {}
    boxes = rects.values()
    targets: dict[str, Callable[[tuple[float, float, float, float]], tuple[float, float]]]
    left = min(x for x, _, _, _ in boxes)
    right = max(x + w for x, _, w, _ in boxes)
    top = min(y for _, y, _, _ in boxes)
    bottom = max(y + h for _, y, _, h in boxes)
    hmid = (left + right) / 2
    vmid = (top + bottom) / 2
    targets = {
        "left": lambda r: (left, r[1]),
        "right": lambda r: (right - r[2], r[1]),
        "hcenter": lambda r: (hmid - r[2] / 2, r[1]),
        "top": lambda r: (r[0], top),
        "bottom": lambda r: (r[0], bottom - r[3]),
        "vcenter": lambda r: (r[0], vmid - r[3] / 2),
    }
    if edge not in targets:
        raise ValueError(f"cannot align to {edge!r}; use one of {', '.join(targets)}")
    return {k: ((r[0], r[1]), targets[edge](r)) for k, r in rects.items()}


def distribute_moves(rects: dict[str, tuple[float, float, float, float]], axis: str
                     ) -> dict[str, tuple[tuple[float, float], tuple[float, float]]]:
    """Moves spacing node rectangles with equal gaps along axis "h" or "v" (ends stay put)."""
    if axis not in ("h", "v"):
        raise ValueError(f"cannot distribute along {axis!r}; use 'h' or 'v'")
    pos, size = (0, 2) if axis == "h" else (1, 3)
    order = sorted(rects, key=lambda k: (rects[k][pos], k))
    if len(order) < 3:
        return {k: ((r[0], r[1]), (r[0], r[1])) for k, r in rects.items()}
    first, last = rects[order[0]], rects[order[-1]]
    span = last[pos] + last[size] - first[pos]
    gap = (span - sum(rects[k][size] for k in order)) / (len(order) - 1)
    moves = {}
    cursor = first[pos]
    for key in order:
        r = rects[key]
        new = (cursor, r[1]) if axis == "h" else (r[0], cursor)
        moves[key] = ((r[0], r[1]), new)
        cursor += r[size] + gap
    return moves
