"""A node item's size from its body layout cached per look (nodes alike share it) is the size
the per-item computation gave; the previous computation is kept here as the specification."""

from __future__ import annotations

import math
import random

from builder.canvas.look import HEADER_H, ICON, MIN_W, PAD, ROW_H, SUMMARY_H, Look
from builder.canvas.node_item import (
    LOOP_RIGHT,
    MAX_TITLE_W,
    TITLE_GAP,
    NodeContent,
    NodeItem,
)
from builder.theme import dark_theme, light_theme
from engine.loops import LOOP_KINDS
from engine.nodetype import Port


def _previous(look: Look, content: NodeContent) -> tuple:
    right = LOOP_RIGHT if content.kind in LOOP_KINDS else PAD
    title_text, advance = look.title_text(content.title, MAX_TITLE_W)
    title_w = advance + PAD + ICON + TITLE_GAP + right + 2
    summary, summary_w = look.summary_text(content.summary) if content.summary else ("", 0.0)
    top = HEADER_H + (SUMMARY_H if summary else 0.0) + 4.0
    in_y, out_y, in_w, out_w = look.port_rows(tuple(p.name for p in content.inputs),
                                              tuple(p.name for p in content.outputs), top)
    ports_w = in_w + out_w + 4 * PAD + (PAD if in_w and out_w else 0)
    width = float(math.ceil(max(MIN_W, title_w, summary_w + 2 * PAD, ports_w) / 10) * 10)
    rows = max(len(in_y), len(out_y), 1)
    return title_text, summary, width, top + rows * ROW_H + 6.0, in_y, out_y


def _contents() -> list[NodeContent]:
    many = [Port(f"input_{i}") for i in range(12)]
    loop_kind = sorted(LOOP_KINDS)[0]
    out = []
    for title in ("A", "Step 967", "A title long enough to be elided " * 4, "x" * 40):
        out += [
            NodeContent(title),
            NodeContent(title, summary="x + y", inputs=[Port("x"), Port("y")],
                        outputs=[Port("out")]),
            NodeContent(title, summary="GET https://example.com/" + "p" * 80, inputs=many),
            NodeContent(title, kind=loop_kind, inputs=[Port("items")],
                        outputs=[Port("item"), Port("done")]),
            NodeContent(title, outputs=[Port("a_rather_long_output_name")], unknown=True),
        ]
    return out


def test_items_alike_share_a_body_layout_and_keep_the_size_they_had(qtbot):
    for theme in (dark_theme(), light_theme()):
        look = Look(theme)
        for content in _contents() * 2:  # the second pass reads the cache
            item = NodeItem("n", content, look)
            title_text, summary, width, height, in_y, out_y = _previous(look, content)
            assert (item.title_text, item.summary, item.width, item.height) == \
                (title_text, summary, width, height)
            assert (item.in_rows, item.out_rows) == (in_y, out_y)
            assert (item.rect.width(), item.rect.height()) == (width, height)
        assert 0 < len(look.node_layouts) < len(_contents())


def _titles(rng: random.Random) -> list[str]:
    kerned = ["AV", "To", "WA", "LT", "Ty", "Yo", "P.", "fi", "ff", "rn", "VA", "Te"]
    printable = [chr(c) for c in range(32, 127)]
    titles = [f"Step {i}" for i in range(0, 3000, 37)] + ["AVATAR TOWN", "WAVY Type", ""]
    for _ in range(400):
        parts = rng.choices(kerned + printable, k=rng.randint(1, 14))
        titles.append("".join(parts))
    titles += ["Résumé", "数据 step", "emoji 🙂 node", "Ünïcödé"]  # shaped, never bounded
    return titles


def test_a_title_short_enough_to_skip_shaping_sizes_the_node_as_shaping_it_would(qtbot):
    rng = random.Random(17)
    contents = []
    for title in _titles(rng):
        contents += [NodeContent(title, summary="x + y", inputs=[Port("x"), Port("y")],
                                 outputs=[Port("out")]),
                     NodeContent(title, summary="GET https://example.com/" + "p" * 80)]
    skipped = 0
    for theme in (dark_theme(), light_theme()):
        look = Look(theme)
        for content in contents:
            bound = look.title_bound(content.title)
            assert bound >= look.title_metrics.horizontalAdvance(content.title)
            item = NodeItem("n", content, look)
            title_text, summary, width, height, _in, _out = _previous(look, content)
            assert (item.title_text, item.width, item.height) == (title_text, width, height)
            assert item.title_elided == (title_text != content.title)
            skipped += look.title_bound(content.title) + 42 <= width
    assert skipped > len(contents) // 4  # the short path is taken, not only the long one
