"""A run's fingerprints, content hash and record text, kept while the document is unchanged
(builder/runview/prepared.py): the same values the run would work out from its own snapshot,
and worked out again after any change to the model."""

from __future__ import annotations

import asyncio

from builder.runview.prepared import Prepared, prepare
from engine.fileformat import dumps
from engine.history import get_run, workflow_hash
from engine.model import Edge, Frame, Node, Workflow
from engine.record.store import load_record
from engine.rerun import fingerprints
from tests.builder.test_live_view_stalls import open_example
from tests.builder.test_run_live import data_dir, until  # noqa: F401 - fixture

_ = data_dir


def small() -> Workflow:
    return Workflow(name="w", nodes=[Node("a", "data.value", "", {"value": 1}, (0.0, 0.0)),
                                     Node("b", "data.expression", "", {"expr": "x + 1"},
                                          (200.0, 0.0))],
                    edges=[Edge("a", "out", "b", "x")])


def test_prepare_gives_the_runs_fingerprints_text_and_history_hash():
    wf = small()
    prints, text, digest = prepare(wf)
    assert prints == fingerprints(wf)
    assert text == dumps(wf)
    assert digest == workflow_hash(wf)  # what the recorder would have worked out


def test_any_change_to_the_model_makes_what_was_kept_stale():
    changes = [
        lambda wf: wf.add_node(Node("c", "data.value", "", {"value": 2}, (0.0, 100.0))),
        lambda wf: wf.remove_node("b"),
        lambda wf: wf.update_node("a", position=(5.0, 5.0)),
        lambda wf: wf.set_param("b", "expr", "x + 2"),
        lambda wf: wf.add_edge(Edge("a", "out", "b", "y")),
        lambda wf: wf.remove_edge(wf.edges[0]),
        lambda wf: wf.add_frame(Frame("f1", "F", nodes=["a"])),
        lambda wf: wf.set_meta(name="renamed"),
        lambda wf: wf.set_meta(extra={"ui": {"breakpoints": ["a"]}}),
    ]
    for change in changes:
        wf = small()
        kept = Prepared()
        generation = kept.follow(wf)
        kept.keep(wf, generation, prepare(wf))
        assert kept.get(wf, generation) == prepare(wf)
        change(wf)
        assert kept.get(wf, generation) is None
        assert kept.get(wf, kept.follow(wf)) is None  # nothing kept for the new content
    wf = small()  # frames change through their own topic
    wf.add_frame(Frame("f1", "F", nodes=["a"]))
    kept = Prepared()
    generation = kept.follow(wf)
    kept.keep(wf, generation, prepare(wf))
    wf.update_frame("f1", title="G")
    assert kept.get(wf, generation) is None


def test_values_worked_out_while_the_model_changed_are_not_kept():
    wf = small()
    kept = Prepared()
    generation = kept.follow(wf)
    values = prepare(wf)
    wf.set_param("b", "expr", "x + 3")  # an edit while it was worked out
    kept.keep(wf, generation, values)
    assert kept.get(wf, kept.follow(wf)) is None
    other = small()
    kept.keep(other, kept.follow(other), prepare(other))
    assert kept.get(wf, kept.follow(wf)) is None  # following another workflow drops it


def test_working_ahead_keeps_the_values_of_the_unchanged_model(qloop):
    wf = small()
    kept = Prepared()
    assert kept.ahead(wf) is None  # no loop running: left to the run

    async def ahead() -> None:
        task = kept.ahead(wf)
        assert task is not None
        await asyncio.wait_for(task, 10)
        assert kept.ahead(wf) is None  # kept: nothing to do

    qloop.run_until_complete(ahead())
    assert kept.get(wf, kept.follow(wf)) == prepare(wf)


def test_each_run_records_the_hash_and_text_of_the_document_as_it_ran(
        qtbot, qloop, tmp_path, data_dir):  # noqa: F811 - the fixture
    window = open_example(qtbot, tmp_path, "parallel.loom.json")
    workflow = window.document.workflow
    store = window.runner.history_store()
    recorded: list[tuple[str, str, str]] = []  # (run's hash, expected hash, record text)

    def run() -> None:
        expected = workflow_hash(workflow)
        assert window.run_workflow()
        until(qloop, lambda: not window.runner.running, timeout=20)
        result = window.runner.result
        assert result is not None and result.ok
        row = get_run(store, result.run_id)
        record = load_record(store, result.run_id)
        assert record is not None
        recorded.append((row.content_hash, expected, record.workflow_text))
        assert record.workflow_text == dumps(workflow)

    run()  # worked out at its start (or ahead, once the window had warmed up)
    run()  # kept from the first run
    first = next(iter(workflow.nodes))
    workflow.update_node(first, position=(1234.0, 567.0))  # an edit: worked out again
    run()
    assert [h for h, _expected, _text in recorded] == [e for _h, e, _text in recorded]
    assert recorded[0][0] == recorded[1][0] != recorded[2][0]
    assert recorded[0][2] == recorded[1][2] != recorded[2][2]
