"""Hostile workflow files for the fuzz tests and bench/fuzz.py: mutations of the shipped files
and the check every mutated file must pass.

`mutate(text, kind, rng)` turns one shipped `.loom.json` text into a hostile variant (bytes):
truncated, a value of the wrong type, huge numbers, NaN/Infinity, deep nesting, odd unicode,
duplicate keys, long strings, many nodes or edges, huge expressions. `check_file(path, ...)`
loads it and, when it loads, saves it again, loads that, compiles it and (for files whose nodes
touch neither network, disk nor a model) runs it with the run recorded in a real history
database. It returns what happened; anything that is not the engine's own error type escapes
as the exception itself, so a caller sees the traceback it must never give a user.
"""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine import CompileError, Run, WorkflowFileError, compile_workflow, fileformat
from engine.history import HistoryRecorder, HistoryStore, get_run
from engine.registry import Registry

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "resources" / "examples").glob("*.loom.json")) + sorted(
    (ROOT / "resources" / "templates").glob("*.loom.json"))
EXAMPLES = [p for p in SHIPPED if p.parent.name == "examples"]

KINDS = ("truncate", "wrong_type", "delete_key", "huge_int", "huge_float", "nan", "deep",
         "unicode", "duplicate_key", "long_string", "many_nodes", "many_edges", "expression",
         "garbage_byte")
# Node types a fuzzed file may run: none reaches the network, the disk, a model or a person.
RUNNABLE = ("data.", "flow.", "text.", "tool.calculator", "util.log", "util.delay")
RUN_TIMEOUT_S = 3.0

_WRONG = (None, True, 0, -1, 1.5, "", "x", [], {}, [1, "a"], {"a": None})
_UNICODE = ("\ud800", "\udfff", "a\udc80b", "\u0000", "\ufeff", "\u202e", "é\u0301", "😀" * 50,
            "\U0010ffff", "line\nbreak", "\\", '"')
_HOLE = "\u0001HOLE\u0001"  # a string no shipped file contains: replaced in the text


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into a JSON value (the root excluded)."""
    found = []
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return found
    for key, child in items:
        found.append(path + (key,))
        found.extend(_paths(child, path + (key,)))
    return found


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        doc = doc[key]
    doc[path[-1]] = value


def _delete(doc: Any, path: tuple[Any, ...]) -> None:
    for key in path[:-1]:
        doc = doc[key]
    del doc[path[-1]]


def _hole(doc: Any, rng: random.Random, raw: str) -> str:
    """Put the raw JSON text `raw` at a random place in `doc` (json cannot write it itself)."""
    _set(doc, rng.choice(_paths(doc)), _HOLE)
    return json.dumps(doc, ensure_ascii=rng.random() < 0.5).replace(json.dumps(_HOLE), raw, 1)


def _expression_nodes(doc: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    found = []
    for node in doc.get("nodes", []):
        for key in ("expr", "condition", "expression"):
            if isinstance(node.get("params", {}).get(key), str):
                found.append((node["params"], key))
    return found


def _deep(depth: int, rng: random.Random) -> str:
    opener, closer = rng.choice([("[", "]"), ('{"a": ', "}")])
    return opener * depth + "1" + closer * depth


def mutate(text: str, kind: str, rng: random.Random, big: bool = False,
           small: bool = False) -> bytes:
    """One hostile variant of the workflow file `text`. `big` allows 10-50 MB variants;
    `small` keeps the many-nodes and many-edges cases to sizes a test suite can afford."""
    doc = json.loads(text)
    if kind == "truncate":
        return text.encode()[:rng.randrange(len(text))]
    if kind == "garbage_byte":
        data = bytearray(text.encode())
        at = rng.randrange(len(data))
        data[at:at + 1] = rng.choice([b"\xff", b"\x00", b"{", b"]", b",", b"\xc3", b'"'])
        return bytes(data)
    paths = _paths(doc)
    if kind == "wrong_type":
        _set(doc, rng.choice(paths), rng.choice(_WRONG))
    elif kind == "delete_key":
        _delete(doc, rng.choice(paths))
    elif kind == "huge_int":
        digits = rng.choice([19, 400, 4300, 4301, 5000, 100_000])
        return _hole(doc, rng, rng.choice(["", "-"]) + "9" * digits).encode()
    elif kind == "huge_float":
        raw = rng.choice(["1e400", "-1e400", "1e-400", "9" * 400 + ".5", "1" + "0" * 320 + ".0"])
        return _hole(doc, rng, raw).encode()
    elif kind == "nan":
        return _hole(doc, rng, rng.choice(["NaN", "Infinity", "-Infinity"])).encode()
    elif kind == "deep":
        depth = rng.choice([50, 200, 499, 500, 600, 999, 1500, 5000, 100_000])
        return _hole(doc, rng, _deep(depth, rng)).encode()
    elif kind == "unicode":
        raw = json.dumps(rng.choice(_UNICODE) * rng.choice([1, 3, 1000]))
        return _hole(doc, rng, raw).encode("utf-8", "surrogatepass")
    elif kind == "duplicate_key":
        objects = [p for p in paths if isinstance(_get(doc, p), dict) and _get(doc, p)]
        target = _get(doc, rng.choice(objects)) if objects else doc
        key = rng.choice(list(target))
        again = json.dumps(rng.choice(_WRONG + ("again",)))
        marker = {_HOLE: None}
        target.update(marker)
        rendered = json.dumps(doc)
        return rendered.replace(f"{json.dumps(_HOLE)}: null",
                                f"{json.dumps(key)}: {again}", 1).encode()
    elif kind == "long_string":
        size = rng.choice([10_000, 1_000_001] + ([20_000_000, 50_000_000] if big else []))
        _set(doc, rng.choice(paths), rng.choice("x-'{") * size)
    elif kind == "many_nodes":
        count = rng.choice([50, 300] if small else [1_000, 5_000] + ([50_000] if big else []))
        nodes = [n for n in doc.get("nodes", []) if isinstance(n, dict)] or [{"type": "x"}]
        doc["nodes"] = [dict(rng.choice(nodes), id=f"m{i}") for i in range(count)]
    elif kind == "many_edges":
        edges = [e for e in doc.get("edges", []) if isinstance(e, dict)] or [{}]
        count = rng.choice([100, 500] if small else [1_000, 20_000])
        doc["edges"] = [dict(rng.choice(edges), source_port=f"p{i}") for i in range(count)]
    elif kind == "expression":
        places = _expression_nodes(doc)
        if not places:
            return mutate(text, "wrong_type", rng, big, small)
        params, key = rng.choice(places)
        params[key] = rng.choice([
            "'-'*100000+'1'", "-" * 100_000 + "1", " + ".join(["1"] * 3000),
            "(" * 300 + "1" + ")" * 300, "[" * 150 + "]" * 150, "not " * 5000 + "x",
            "x" + ".y" * 5000, "2**100000", "x.keys()", "x" * 200_000,
            "1 +" * (2_000_000 if big else 20_000) + " 1",
        ])
    return json.dumps(doc, ensure_ascii=rng.random() < 0.5).encode()


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        doc = doc[key]
    return doc


@dataclass
class Outcome:
    stage: str  # "refused" (the loader's own error), "invalid" (problems), "compiled", "ran"
    detail: str = ""


def check_file(path: Path, registry: Registry, store: HistoryStore | None,
               run: bool = True) -> Outcome:
    """Load `path`; if it loads, save+load it again, compile it and maybe run it."""
    try:
        loaded = fileformat.load(path, registry)
    except WorkflowFileError as exc:
        message = str(exc)
        assert message and "Traceback" not in message
        return Outcome("refused", message)
    text = fileformat.dumps(loaded.workflow)
    saved = path.with_name("saved-" + path.name)
    fileformat.save(loaded.workflow, saved)  # anything that loads can be saved again
    again = fileformat.load(saved)
    assert fileformat.dumps(again.workflow) == text, "the saved file loads as something else"
    if loaded.errors:
        return Outcome("invalid", str(loaded.errors[0]))
    try:
        compiled = compile_workflow(loaded.workflow, registry)
    except CompileError as exc:
        return Outcome("invalid", str(exc.problems[0]) if exc.problems else str(exc))
    types = {n.type for n in loaded.workflow.nodes.values()}
    if not run or store is None or not all(t.startswith(RUNNABLE) for t in types):
        return Outcome("compiled")
    return Outcome("ran", run_recorded(compiled, store, path))


def run_recorded(compiled: Any, store: HistoryStore, path: Path) -> str:
    """Run `compiled` (cancelled after RUN_TIMEOUT_S) with a recorder; the recorded status."""
    run = Run(compiled)
    recorder = HistoryRecorder(store, path, flush_interval_s=0.05).attach(run)

    async def bounded() -> Any:
        task = asyncio.ensure_future(run.execute())
        done, _ = await asyncio.wait([task], timeout=RUN_TIMEOUT_S)
        if not done:
            run.cancel()
        return await task

    try:
        result = asyncio.run(bounded())
    finally:
        recorder.close()
    row = get_run(store, run.run_id)
    assert row is not None, "the run was not recorded"
    assert row.status == result.status, f"history says {row.status}, the run {result.status}"
    assert row.status in ("succeeded", "failed", "cancelled"), row.status
    return result.status
