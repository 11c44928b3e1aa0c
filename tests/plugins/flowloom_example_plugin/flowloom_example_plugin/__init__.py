"""Example Flowloom plugin: two small text nodes, found through the `flowloom.nodes` entry point."""

from __future__ import annotations

import re
import unicodedata

from nodes.api import NodeFailure, NodeType, Param, Port


class WordCount(NodeType):
    type_id = "example.word_count"
    title = "Word count"
    category = "Example"
    description = "Counts the words in a text."
    inputs = (Port("text", "str"),)
    outputs = (Port("count", "number"),)
    pure = True
    cheap = True  # microseconds of work: run inline on the event loop

    def run(self, ctx, text):
        return {"count": len(text.split())}


class Slugify(NodeType):
    type_id = "example.slugify"
    title = "Slugify"
    category = "Example"
    description = "Turns a title into a URL slug (my-title)."
    inputs = (Port("text", "str"),)
    outputs = (Port("slug", "str"),)
    parameters = (Param("separator", "str", default="-", choices=("-", "_"),
                        help="what goes between words"),
                  Param("max_length", "int", default=60, minimum=1))
    pure = True
    summary_param = "separator"

    async def run(self, ctx, text):
        ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        words = re.findall(r"[a-z0-9]+", ascii_text.lower())
        if not words:
            raise NodeFailure(f"{text!r} has no letters or digits to make a slug from")
        slug = self.params["separator"].join(words)[: self.params["max_length"]]
        ctx.log("info", f"slug: {slug}")
        return {"slug": slug}


TYPES = (WordCount, Slugify)
