"""flow.subworkflow with real .loom.json files in tmp_path: inputs, outputs, shared services,
failures, and recursion refused before anything runs."""

from __future__ import annotations

import asyncio

import pytest

from engine import events as ev
from engine.compile import compile_workflow
from engine.context import Decision, Services
from engine.executor import Run
from engine.fileformat import save
from engine.model import Node
from nodes.flowctl import WORKFLOW_PATH_KEY, call_chain_problem
from tests.nodes.flowrun import REGISTRY, error_of, logs, run_flow, value, wf


def start(**inputs) -> Node:
    return Node("start", "flow.start", params={"inputs": inputs})


def sub(node_id: str, path: str, **mapping) -> Node:
    return Node(node_id, "flow.subworkflow", params={"path": path, "inputs": mapping})


def caller(path: str, x=None, **mapping):
    return wf(value("v", x), sub("s", path, **mapping),
              Node("o", "flow.output", params={"name": "result"}),
              edges="v.out->s.in, s.out->o.in")


@pytest.fixture
def child(tmp_path):
    (tmp_path / "lib").mkdir()
    save(wf(start(n=0),
            Node("times", "data.expression", params={"expr": "x['n'] * 10"}),
            Node("say", "util.log", params={"message": "n={{ n }}"}),
            Node("o", "flow.output", params={"name": "ten"}),
            edges="start.out->times.x, start.out->say.in, times.out->o.in"),
         tmp_path / "lib" / "child.loom.json")
    return tmp_path / "lib" / "child.loom.json"


@pytest.mark.asyncio
async def test_inputs_are_mapped_from_the_input_port_and_outputs_come_back(tmp_path, child):
    result, events = await run_flow(caller("lib/child.loom.json", {"k": 4}, n="x['k'] + 1"),
                                    services=Services(base_dir=tmp_path))
    assert result.ok, result.error
    assert result.outputs["result"] == {"ten": 50}
    assert ("info", "[child/say] n=5") in logs(events, "s")


@pytest.mark.asyncio
async def test_without_a_mapping_a_dict_input_is_the_inputs_and_unknown_names_fail(tmp_path,
                                                                                   child):
    result, _ = await run_flow(caller("lib/child.loom.json", {"n": 2}),
                               services=Services(base_dir=tmp_path))
    assert result.outputs["result"] == {"ten": 20}
    result, _ = await run_flow(caller("lib/child.loom.json", {"m": 2}),
                               services=Services(base_dir=tmp_path))
    assert "sub-workflow child.loom.json: unknown input 'm'" in error_of(result, "s")


@pytest.mark.asyncio
async def test_child_failure_fails_the_node_with_the_childs_error(tmp_path):
    save(wf(Node("f", "flow.fail", params={"message": "nope"})), tmp_path / "bad.loom.json")
    result, _ = await run_flow(caller("bad.loom.json"), services=Services(base_dir=tmp_path))
    assert not result.ok
    assert error_of(result, "s") == "sub-workflow bad.loom.json failed: node f failed: nope"
    result, _ = await run_flow(caller("missing.loom.json"),
                               services=Services(base_dir=tmp_path))
    assert "missing.loom.json does not exist" in error_of(result, "s")


@pytest.mark.asyncio
async def test_child_reads_files_from_its_own_folder_and_uses_the_callers_approver(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "data.txt").write_text("from lib")
    save(wf(Node("r", "file.read", params={"path": "data.txt"}),
            Node("g", "human.approval"),
            Node("o", "flow.output", params={"name": "text"}),
            edges="r.out->g.in, g.approved->o.in"), tmp_path / "lib" / "reader.loom.json")
    asked = []

    async def approver(request):
        asked.append(request.value)
        return Decision(True)

    result, _ = await run_flow(caller("lib/reader.loom.json"),
                               services=Services(base_dir=tmp_path, approver=approver))
    assert result.outputs["result"] == {"text": "from lib"}
    assert asked == ["from lib"]


@pytest.mark.asyncio
async def test_mutual_recursion_is_refused_before_anything_runs(tmp_path):
    marker = tmp_path / "ran.txt"
    save(wf(value("v", "x"), Node("w", "file.write", params={"path": str(marker)}),
            sub("again", "a.loom.json"), edges="v.out->w.content, w.path->again.in"),
         tmp_path / "b.loom.json")
    save(wf(sub("call_b", "b.loom.json")), tmp_path / "a.loom.json")
    result, _ = await run_flow(caller("a.loom.json"), services=Services(base_dir=tmp_path))
    assert not result.ok
    assert error_of(result, "s") == ("sub-workflow recursion refused: "
                                     "a.loom.json -> b.loom.json -> a.loom.json")
    assert not marker.exists()


@pytest.mark.asyncio
async def test_a_file_calling_itself_is_refused_given_the_top_level_path(tmp_path):
    me = tmp_path / "me.loom.json"
    workflow = caller("me.loom.json")
    save(workflow, me)
    result, _ = await run_flow(workflow, services=Services(
        base_dir=tmp_path, extra={WORKFLOW_PATH_KEY: str(me)}))
    assert error_of(result, "s") == "sub-workflow recursion refused: me.loom.json -> me.loom.json"


def test_call_chain_of_a_tree_without_cycles_is_fine(tmp_path):
    save(wf(value("v", 1)), tmp_path / "leaf.loom.json")
    save(wf(sub("l1", "leaf.loom.json"), sub("l2", "leaf.loom.json")), tmp_path / "mid.loom.json")
    assert call_chain_problem(tmp_path / "mid.loom.json") is None


@pytest.mark.asyncio
async def test_cancelling_the_caller_cancels_the_running_child(tmp_path):
    save(wf(Node("wait", "util.delay", params={"seconds": 30}),
            Node("o", "flow.output", params={"name": "late"}), edges="wait.out->o.in"),
         tmp_path / "slow.loom.json")
    run = Run(compile_workflow(caller("slow.loom.json"), REGISTRY),
              services=Services(base_dir=tmp_path))
    started = asyncio.Event()
    run.subscribe(lambda e: started.set()
                  if isinstance(e, ev.NodeProgressed) and e.node_id == "s" else None)
    async with asyncio.timeout(5):  # far less than the child's 30 s delay
        task = asyncio.ensure_future(run.execute())
        await started.wait()  # the child has started running nodes
        run.cancel()
        result = await task
    assert result.status == "cancelled"
    assert result.nodes["s"].status == "cancelled"
