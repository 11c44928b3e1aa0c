"""human.approval through a real Services.approver, and the CLI approvers."""

from __future__ import annotations

import asyncio
import io

import pytest

from engine import events as ev
from engine.compile import compile_workflow
from engine.context import ApprovalRequest, Decision, Services
from engine.executor import Run
from engine.model import Node
from nodes.approvals import approve_all, cli_approver, prompt_approver, reject_all
from tests.nodes.flowrun import REGISTRY, error_of, run_flow, value, wf


def gate_workflow(**params) -> object:
    return wf(value("v", {"amount": 120}),
              Node("gate", "human.approval",
                   params={"title": "Pay?", "message": "Pay {{ amount }} EUR?", **params}),
              Node("ok", "flow.output", params={"name": "paid"}),
              Node("no", "flow.output", params={"name": "refused"}),
              Node("why", "flow.output", params={"name": "decision"}),
              edges="v.out->gate.in, gate.approved->ok.in, gate.rejected->no.in, "
                    "gate.decision->why.in")


@pytest.mark.asyncio
async def test_approved_value_goes_out_of_approved_with_the_comment():
    asked: list[ApprovalRequest] = []

    async def approver(request: ApprovalRequest) -> Decision:
        asked.append(request)
        return Decision(True, "fine", "ada")

    result, _ = await run_flow(gate_workflow(), services=Services(approver=approver))
    assert result.outputs["paid"] == {"amount": 120}
    assert "refused" not in result.outputs
    assert result.nodes["no"].status == "skipped"
    assert result.outputs["decision"] == {"approved": True, "comment": "fine", "by": "ada"}
    assert [(r.node_id, r.title, r.message) for r in asked] == [("gate", "Pay?", "Pay 120 EUR?")]


@pytest.mark.asyncio
async def test_rejected_value_goes_out_of_rejected():
    result, _ = await run_flow(gate_workflow(), services=Services(approver=reject_all))
    assert result.outputs["refused"] == {"amount": 120}
    assert "paid" not in result.outputs
    assert result.outputs["decision"]["approved"] is False


@pytest.mark.asyncio
async def test_other_branches_keep_running_while_a_gate_waits():
    release = asyncio.Event()
    order: list[str] = []

    async def approver(request: ApprovalRequest) -> Decision:
        order.append("asked")
        await release.wait()
        order.append("answered")
        return Decision(True)

    workflow = wf(value("v", 1),
                  Node("gate", "human.approval"),
                  Node("work", "util.delay", params={"seconds": 0.05}),
                  Node("o1", "flow.output", params={"name": "gated"}),
                  Node("o2", "flow.output", params={"name": "other"}),
                  edges="v.out->gate.in, v.out->work.in, gate.approved->o1.in, work.out->o2.in")

    def on_event(event):
        if isinstance(event, ev.NodeFinished) and event.node_id == "o2":
            order.append("other branch done")
            release.set()  # only the other branch finishing lets the person answer

    run = Run(compile_workflow(workflow, REGISTRY), services=Services(approver=approver))
    run.subscribe(on_event)
    async with asyncio.timeout(10):
        result = await run.execute()
    assert result.outputs == {"gated": 1, "other": 1}
    assert order == ["asked", "other branch done", "answered"]


@pytest.mark.asyncio
async def test_autopilot_decides_when_nobody_answers_in_time():
    async def silent(request: ApprovalRequest) -> Decision:
        await asyncio.Event().wait()  # a person who never answers
        raise AssertionError("unreachable")

    result, _ = await run_flow(gate_workflow(autopilot="reject", autopilot_after_s=0.1),
                               services=Services(approver=silent))
    assert result.outputs["refused"] == {"amount": 120}
    assert result.outputs["decision"]["by"] == "autopilot"
    assert "nobody answered within 0.1 s" in result.outputs["decision"]["comment"]


@pytest.mark.asyncio
async def test_without_an_approver_the_gate_fails_saying_how_to_decide_unless_autopilot():
    result, _ = await run_flow(gate_workflow())
    assert not result.ok
    assert "--approve-all" in error_of(result, "gate")
    result, _ = await run_flow(gate_workflow(autopilot="approve", autopilot_after_s=60),
                               limit_s=5)
    assert result.outputs["paid"] == {"amount": 120}


@pytest.mark.asyncio
async def test_prompt_approver_reads_answer_and_comment_and_reasks_on_nonsense():
    stdin = io.StringIO("maybe\nr\ntoo expensive\n")
    stdout = io.StringIO()
    ask = prompt_approver(stdin, stdout)
    request = ApprovalRequest("run1", "gate", "Pay?", {"amount": 1}, "Pay 1 EUR?")
    async with asyncio.timeout(5):
        decision = await ask(request)
    assert decision == Decision(False, "too expensive", "cli")
    shown = stdout.getvalue()
    assert "Pay? (node gate)" in shown and "Pay 1 EUR?" in shown
    assert "please type a (approve) or r (reject)" in shown
    async with asyncio.timeout(5):
        assert (await prompt_approver(io.StringIO(""), stdout)(request)).approved is False


@pytest.mark.asyncio
async def test_cli_approver_follows_flags_then_terminal():
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert cli_approver(approve=True) is approve_all
    assert cli_approver(reject=True) is reject_all
    assert cli_approver(stdin=io.StringIO("")) is None  # not a terminal: nobody to ask
    ask = cli_approver(stdin=Tty("a\n\n"), stdout=io.StringIO())
    async with asyncio.timeout(5):
        assert (await ask(ApprovalRequest("r", "n", "t", 1))).approved is True
    with pytest.raises(ValueError):
        cli_approver(approve=True, reject=True)
