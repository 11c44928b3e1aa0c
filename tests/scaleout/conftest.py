"""A LocalCluster of 2 worker processes on 127.0.0.1, shared by the scale-out tests."""

from __future__ import annotations

import importlib

import distributed
import pytest

from engine.dask_backend import local_cluster


def start_cluster(workers: int = 2):
    return local_cluster(workers, threads=2)


@pytest.fixture(scope="module")
def cluster():
    with start_cluster() as cluster:
        yield cluster


@pytest.fixture(scope="module")
def client(cluster):
    with distributed.Client(cluster, set_as_default=False) as client:
        client.wait_for_workers(2, timeout=60)
        # Both workers import the worker side now, not while their first tasks wait: on a
        # busy machine the scheduler would otherwise steal those tasks for the other worker.
        client.run(importlib.import_module, "engine.dask_worker")
        yield client
