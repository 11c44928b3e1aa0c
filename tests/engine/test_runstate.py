"""A node's overall state in a run, summed over the iterations of the loops around it."""

from __future__ import annotations

import asyncio

from engine import Edge, Node, Run, Workflow, compile_workflow, core_registry


def _loop_with_a_failing_item() -> Workflow:
    nodes = [
        Node("items", "data.value", params={"value": [4, 0, 5]}),
        Node("loop", "flow.foreach"),
        Node("divide", "data.expression", params={"expr": "100 / x"}, on_error="continue"),
        Node("ok", "data.expression", params={"expr": "{'ok': x}"}),
        Node("bad", "data.expression", params={"expr": "{'error': x['message']}"}),
        Node("join", "flow.merge", params={"mode": "first"}),
        Node("out", "flow.output", params={"name": "results"}),
    ]
    edges = [
        Edge("items", "out", "loop", "items"), Edge("loop", "item", "divide", "x"),
        Edge("divide", "out", "ok", "x"), Edge("divide", "error", "bad", "x"),
        Edge("ok", "out", "join", "in"), Edge("bad", "out", "join", "in"),
        Edge("join", "out", "loop", "result"), Edge("loop", "results", "out", "in"),
    ]
    return Workflow("loop", nodes=nodes, edges=edges)


def test_a_node_that_failed_in_one_iteration_is_failed_overall_with_its_error():
    compiled = compile_workflow(_loop_with_a_failing_item(), core_registry())
    result = asyncio.run(Run(compiled).execute())
    assert result.status == "succeeded"
    divide = result.to_json()["nodes"]["divide"]
    assert divide["status"] == "failed"
    assert "division by zero" in divide["error"]
    assert divide["iterations"] == {"succeeded": 2, "failed": 1, "skipped": 0}


def test_a_node_skipped_in_some_iterations_but_run_in_others_is_succeeded_without_a_reason():
    compiled = compile_workflow(_loop_with_a_failing_item(), core_registry())
    result = asyncio.run(Run(compiled).execute())
    nodes = result.to_json()["nodes"]
    assert nodes["bad"]["status"] == "succeeded"
    assert "reason" not in nodes["bad"]
    assert nodes["bad"]["iterations"] == {"succeeded": 1, "failed": 0, "skipped": 2}
    assert nodes["ok"]["iterations"] == {"succeeded": 2, "failed": 0, "skipped": 1}
    assert result.outputs["results"][1] == {"error": "expression `100 / x` failed: "
                                                     "ZeroDivisionError: division by zero"}


def test_a_node_skipped_in_every_iteration_is_skipped_with_the_reason():
    workflow = _loop_with_a_failing_item()
    workflow.set_param("items", "value", [1, 2])
    result = asyncio.run(Run(compile_workflow(workflow, core_registry())).execute())
    bad = result.to_json()["nodes"]["bad"]
    assert bad["status"] == "skipped"
    assert "divide" in bad["reason"]


def test_a_secret_in_outputs_is_masked_where_recorded_but_reaches_the_next_node():
    from engine import NodeType, Port, Services

    class Leaky(NodeType):
        type_id = "test.leaky"
        outputs = (Port("out"),)

        async def run(self, ctx):
            return {"out": {"header": "Bearer " + ctx.secret("token")}}

    registry = core_registry()
    registry.register(Leaky)
    workflow = Workflow("leak", nodes=[
        Node("leak", "test.leaky"),
        Node("len", "data.expression", params={"expr": "len(x['header'])"}),
        Node("out", "flow.output", params={"name": "length"}),
        Node("raw", "flow.output", params={"name": "raw"}),
    ], edges=[Edge("leak", "out", "len", "x"), Edge("len", "out", "out", "in"),
              Edge("leak", "out", "raw", "in")])
    events: list = []
    run = Run(compile_workflow(workflow, registry),
              services=Services(secrets={"token": "tok-123456"}.get))
    run.subscribe(events.append)
    result = asyncio.run(run.execute())
    assert result.outputs["length"] == len("Bearer tok-123456")  # the real value flowed on
    assert "tok-123456" not in repr(result.outputs) and "••" in result.outputs["raw"]["header"]
    assert "tok-123456" not in repr(result.nodes["leak"].outputs)
    assert "tok-123456" not in repr(events)


def test_asking_a_person_emits_approval_requested_then_decided():
    from engine import Decision, NodeType, Port, Services

    class Gate(NodeType):
        type_id = "test.gate"
        inputs = (Port("in"),)
        outputs = (Port("out"),)

        async def run(self, ctx, **inputs):
            decision = await ctx.ask(inputs["in"], "ship it?")
            return {"out": decision.comment}

    async def approver(request):
        await asyncio.sleep(0.01)
        return Decision(True, f"ok {request.value}", "tester")

    registry = core_registry()
    registry.register(Gate)
    workflow = Workflow("gate", nodes=[
        Node("v", "data.value", params={"value": 7}), Node("g", "test.gate"),
        Node("o", "flow.output", params={"name": "r"})],
        edges=[Edge("v", "out", "g", "in"), Edge("g", "out", "o", "in")])
    events: list = []
    run = Run(compile_workflow(workflow, registry), services=Services(approver=approver))
    run.subscribe(events.append)
    result = asyncio.run(run.execute())
    assert result.outputs == {"r": "ok 7"}
    names = [type(e).__name__ for e in events if getattr(e, "node_id", None) == "g"]
    assert names == ["NodeStarted", "ApprovalRequested", "ApprovalDecided", "NodeFinished"]
    requested = next(e for e in events if type(e).__name__ == "ApprovalRequested")
    assert (requested.message, requested.value) == ("ship it?", 7)
