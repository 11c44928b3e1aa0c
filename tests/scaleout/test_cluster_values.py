"""Large values between cluster nodes stay on the cluster; a local reader gets the value."""

from __future__ import annotations

import pytest

from engine.dask_backend import HANDLE_KEY, KEEP_BYTES
from tests.scaleout.test_dask import _compiled, _registry, _run, _seam, _workers


def _edge(*pairs: tuple[str, str, str, str]) -> list[dict]:
    return [{"source": s, "source_port": sp, "target": t, "target_port": tp}
            for s, sp, t, tp in pairs]


def _blob_doc(kb: int, *, local_reader: bool) -> dict:
    """seed → blob (kb KiB) → digest → output d; with `local_reader`, the blob to output b too."""
    nodes = [{"id": "seed", "type": "data.value", "params": {"value": 7}},
             {"id": "blob", "type": "user.blob", "params": {"kb": kb}},
             {"id": "digest", "type": "user.digest"},
             {"id": "d", "type": "flow.output", "params": {"name": "d"}}]
    edges = _edge(("seed", "out", "blob", "in"), ("blob", "out", "digest", "in"),
                  ("digest", "out", "d", "in"))
    if local_reader:
        nodes.append({"id": "b", "type": "flow.output", "params": {"name": "b"}})
        edges += _edge(("blob", "out", "b", "in"))
    return {"format": "flowloom.workflow", "version": 1, "name": "blob", "nodes": nodes,
            "edges": edges}


def _sent_to(client, key: str) -> set[str]:
    """Every peer a worker sent `key`'s data to (a worker's address, or the scheduler's when
    a client gathered it), from the workers' own transfer logs."""
    def peers(dask_worker, key=key):
        return [entry["who"] for entry in dask_worker.transfer_outgoing_log
                if key in entry["keys"]]

    return {who for found in client.run(peers).values() for who in found}


@pytest.mark.asyncio
async def test_a_large_value_passes_between_cluster_nodes_without_the_client(tmp_path, client):
    registry = _registry(tmp_path)
    kb = 3 * KEEP_BYTES // 1024  # 3 MiB: over the threshold
    remote = await _run(_compiled(_blob_doc(kb, local_reader=False), registry), _seam(client))
    local = await _run(_compiled(_blob_doc(kb, local_reader=False), registry))
    assert remote.ok, remote.error
    assert local.ok, local.error
    assert remote.outputs == local.outputs
    assert remote.outputs["d"][1] == kb * 1024
    # the run holds a small stand-in, never the bytes: not in its state, not in its inputs
    held = remote.nodes["blob"].outputs["out"]
    assert isinstance(held, dict) and HANDLE_KEY in held, type(held)
    assert held["bytes"] >= kb * 1024
    assert remote.nodes["digest"].inputs["in"] == held
    assert isinstance(local.nodes["blob"].outputs["out"], bytes)
    # only workers ever took the value from the worker that holds it
    assert _sent_to(client, held["key"]) <= set(_workers(client))


@pytest.mark.asyncio
async def test_small_values_and_values_a_local_node_reads_come_by_value(tmp_path, client):
    registry = _registry(tmp_path)
    small = await _run(_compiled(_blob_doc(4, local_reader=False), registry), _seam(client))
    assert small.ok, small.error
    assert isinstance(small.nodes["blob"].outputs["out"], bytes)
    kb = 2 * KEEP_BYTES // 1024
    doc = _blob_doc(kb, local_reader=True)
    remote = await _run(_compiled(doc, registry), _seam(client))
    local = await _run(_compiled(doc, registry))
    assert remote.ok, remote.error
    assert remote.outputs == local.outputs
    assert isinstance(remote.outputs["b"], bytes) and len(remote.outputs["b"]) == kb * 1024
    assert isinstance(remote.nodes["blob"].outputs["out"], bytes)


@pytest.mark.asyncio
async def test_a_stand_in_of_an_earlier_session_fails_its_reader_with_a_sentence(
        tmp_path, client):
    registry = _registry(tmp_path)
    doc = {"format": "flowloom.workflow", "version": 1, "name": "stale",
           "nodes": [{"id": "v", "type": "data.value",
                      "params": {"value": {HANDLE_KEY: "gone", "key": "x", "bytes": 9}}},
                     {"id": "digest", "type": "user.digest"}],
           "edges": _edge(("v", "out", "digest", "in"))}
    result = await _run(_compiled(doc, registry), _seam(client))
    assert result.status == "failed"
    assert result.nodes["digest"].error == ("an input of 'digest' stayed on the cluster of an "
                                            "earlier run and is gone; run its source node "
                                            "again")
