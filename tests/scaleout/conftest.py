"""A LocalCluster of 2 worker processes on 127.0.0.1, shared by the scale-out tests."""

from __future__ import annotations

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
        yield client
