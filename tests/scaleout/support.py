"""Workflows and a user-folder plugin for the scale-out tests (a LocalCluster on 127.0.0.1)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

# A CPU-bound, GIL-holding step, written to the user's node folder: the workers have never
# seen it, so it must travel with its tasks.
PLUGIN = textwrap.dedent('''
    import os
    import time

    from engine.nodetype import NodeType, Param, Port


    class Churn(NodeType):
        type_id = "user.churn"
        title = "Churn"
        cpu_bound = True
        inputs = (Port("in", required=False),)
        outputs = (Port("out"), Port("pid"))
        parameters = (Param("ms", "number", default=1.0),)

        def run(self, ctx, **inputs):
            x = inputs.get("in") or 0
            end = time.thread_time() + float(self.params["ms"]) / 1000
            total = 0
            while time.thread_time() < end:  # pure Python: holds the GIL throughout
                total += 1
            return {"out": x * x + 1, "pid": os.getpid()}



    class Peek(NodeType):
        """Reads the file its input names, and says whether it was given credential `key`."""

        type_id = "user.peek"
        cpu_bound = True
        inputs = (Port("in", required=False),)
        outputs = (Port("out"),)
        parameters = (Param("key_secret", "str", default="", secret=True),)

        def run(self, ctx, **inputs):
            text = ctx.check_read(inputs["in"]).read_text() if inputs.get("in") else ""
            key = ctx.secret(self.params["key_secret"]) if self.params["key_secret"] else ""
            ctx.info(f"worker saw key {key}")
            return {"out": {"text": text, "key_length": len(key), "pid": os.getpid()}}



    class Hold(NodeType):
        """Says it is half way, then waits (up to 30 s) for the file its input names."""

        type_id = "user.hold"
        cpu_bound = True
        inputs = (Port("in", required=False),)
        outputs = (Port("out"),)

        def run(self, ctx, **inputs):
            import pathlib

            ctx.progress(0.5, "half way")
            ctx.info("waiting for the go file")
            go = pathlib.Path(inputs["in"])
            end = time.monotonic() + 30
            while not go.exists() and time.monotonic() < end:
                time.sleep(0.02)
            return {"out": go.exists()}

    class Blob(NodeType):
        """`kb` KiB of bytes made from its input (a number), on whichever process runs it."""

        type_id = "user.blob"
        cpu_bound = True
        inputs = (Port("in", required=False),)
        outputs = (Port("out"),)
        parameters = (Param("kb", "number", default=1),)

        def run(self, ctx, **inputs):
            seed = bytes([(inputs.get("in") or 0) % 256])
            return {"out": (seed + bytes(range(255))) * (int(self.params["kb"]) * 4)}



    class Digest(NodeType):
        """The sha256 and length of the bytes it is given, and the process that saw them."""

        type_id = "user.digest"
        cpu_bound = True
        inputs = (Port("in", required=False),)
        outputs = (Port("out"), Port("pid"))

        def run(self, ctx, **inputs):
            import hashlib

            data = inputs["in"]
            return {"out": [hashlib.sha256(data).hexdigest(), len(data)], "pid": os.getpid()}

    class Mint(NodeType):
        """Makes a token, names it a secret (ctx.add_secret) and says only its length."""

        type_id = "user.mint"
        cpu_bound = True
        inputs = (Port("in", required=False),)
        outputs = (Port("out"),)
        parameters = (Param("token", "str", default="minted-token-0000"),)

        def run(self, ctx, **inputs):
            ctx.add_secret(self.params["token"])
            return {"out": len(self.params["token"])}

    TYPES = [Churn, Peek, Hold, Blob, Digest, Mint]
''')


def write_plugin(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "churn.py"
    path.write_text(PLUGIN, encoding="utf-8")
    return path


def foreach_doc(n: int, *, step: dict[str, Any], parallel: int) -> dict:
    """items 0..n-1 → foreach(parallel) → `step` on each item → output r."""
    return {
        "format": "flowloom.workflow", "version": 1, "name": "scale-out",
        "nodes": [
            {"id": "items", "type": "data.value", "params": {"value": list(range(n))}},
            {"id": "each", "type": "flow.foreach", "params": {"parallel": parallel}},
            {"id": "step", **step},
            {"id": "out", "type": "flow.output", "params": {"name": "r"}}],
        "edges": [{"source": "items", "source_port": "out", "target": "each",
                   "target_port": "items"},
                  {"source": "each", "source_port": "item", "target": "step",
                   "target_port": "in"},
                  {"source": "step", "source_port": "out", "target": "each",
                   "target_port": "result"},
                  {"source": "each", "source_port": "results", "target": "out",
                   "target_port": "in"}]}
