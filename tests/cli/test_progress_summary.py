"""`flowloom run --json` without a terminal: the 10 % lines count settled nodes as the run's
RunFold does (builder/progress.py counts them with a set instead of feeding the fold)."""

from __future__ import annotations

import asyncio
import io
import re

from builder.progress import TerminalProgress
from engine import Edge, Node, Run, Workflow, compile_workflow
from engine.runfold import RunFold
from nodes import default_registry


def _chain(n: int, fail_at: int | None = None) -> Workflow:
    nodes = [Node("n0", "data.value", params={"value": 1})]
    for i in range(1, n):
        expr = "x / 0" if i == fail_at else "x + 1"
        nodes.append(Node(f"n{i}", "data.expression", params={"expr": expr}))
    edges = [Edge(f"n{i - 1}", "out", f"n{i}", "x") for i in range(1, n)]
    return Workflow("chain", nodes=nodes, edges=edges)


def _summary(workflow: Workflow) -> tuple[list[str], RunFold]:
    compiled = compile_workflow(workflow, default_registry(plugins=False))
    stream = io.StringIO()
    progress = TerminalProgress(stream, compiled.workflow, live=False, per_node=False)
    fold = RunFold()
    fold.reset(compiled.workflow)
    run = Run(compiled)
    progress.attach(run)
    run.subscribe(fold.feed, batched=True)
    asyncio.run(asyncio.wait_for(run.execute(), 30))
    return [line.split("] ", 1)[1] for line in stream.getvalue().splitlines()], fold


def test_tenth_lines_reach_every_node_of_a_run_that_succeeds() -> None:
    lines, fold = _summary(_chain(40))
    tenths = [line for line in lines if re.fullmatch(r"\d+ % \(\d+/40 nodes settled\)", line)]
    assert tenths[-1] == "100 % (40/40 nodes settled)"
    percents = [int(line.split(" ")[0]) for line in tenths]
    assert percents == sorted(set(percents))  # each 10 % step once, in order
    assert fold.settled_count == 40
    assert lines[0].startswith("run 'chain': 40 nodes")
    assert lines[-1].startswith("run succeeded")


def test_failed_and_skipped_nodes_count_as_settled_like_the_fold() -> None:
    lines, fold = _summary(_chain(20, fail_at=5))
    assert any(line.startswith("failed") and "n5" in line for line in lines)
    last = [line for line in lines if "nodes settled" in line][-1]
    assert last == f"{10 * fold.settled_count // 20 * 10} % ({fold.settled_count}/20 nodes settled)"
    assert lines[-1].startswith("run failed")
