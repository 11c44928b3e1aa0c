"""The editor's Run ▸ Cluster… settings: the dialog, and an editor run landing on a worker."""

from __future__ import annotations

import asyncio
import os
import socket

import pytest
import qasync

from builder.cli_dask import DASK_ENV
from builder.mainwindow import MainWindow
from builder.runview.cluster_settings import SETTING, ClusterDialog, cluster_address
from builder.trust_banner import ALLOW_ONCE
from engine.fileformat import dumps
from engine.model import Edge, Node, Workflow
from tests.builder.shell_support import Answers, make_registry, temp_settings


@pytest.fixture
def qloop(qapp):
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    yield loop
    loop.close()
    asyncio.set_event_loop(None)


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWLOOM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FLOWLOOM_HISTORY_DB", str(tmp_path / "history.db"))
    monkeypatch.delenv(DASK_ENV, raising=False)
    return tmp_path / "data"


ANCESTRY = "import psutil\nresult = [p.pid for p in psutil.Process().parents()]"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _until(loop, condition, timeout: float) -> None:
    async def wait():
        while not condition():
            await asyncio.sleep(0.02)

    loop.run_until_complete(asyncio.wait_for(wait(), timeout))


def test_the_dialog_tests_the_address_and_saves_it(qtbot, qloop, tmp_path, data_dir, cluster,
                                                   monkeypatch):
    settings = temp_settings(tmp_path)
    dialog = ClusterDialog(settings)
    qtbot.addWidget(dialog)
    dialog.address.setText(cluster.scheduler_address)
    dialog.test_button.click()
    _until(qloop, lambda: dialog.verdict.text().startswith("Reachable"), 20)
    assert dialog.verdict.text() == (f"Reachable: the Dask scheduler at "
                                     f"{cluster.scheduler_address} answered.")
    gone = f"tcp://127.0.0.1:{_closed_port()}"
    dialog.address.setText(gone)
    dialog.test_button.click()
    _until(qloop, lambda: dialog.verdict.text().startswith("Unreachable"), 20)
    assert dialog.verdict.text().startswith(f"Unreachable: cannot reach the Dask scheduler at "
                                            f"{gone}")
    assert "\n" not in dialog.verdict.text()
    dialog.address.setText(f"  {cluster.scheduler_address} ")
    dialog.accept()
    assert settings.value(SETTING) == cluster.scheduler_address
    assert cluster_address(settings) == cluster.scheduler_address
    monkeypatch.setenv(DASK_ENV, "tcp://127.0.0.1:1")
    assert cluster_address(settings) == "tcp://127.0.0.1:1"  # the environment wins


def test_an_editor_run_of_python_code_lands_on_a_worker(qtbot, qloop, tmp_path, data_dir,
                                                        cluster, client):
    settings = temp_settings(tmp_path)
    settings.setValue(SETTING, cluster.scheduler_address)
    workflow = Workflow("pid", nodes=[
        Node("py", "code.python", params={"code": ANCESTRY}),
        Node("out", "flow.output", params={"name": "pid"})],
        edges=[Edge("py", "out", "out", "in")])
    path = tmp_path / "pid.loom.json"
    path.write_text(dumps(workflow), encoding="utf-8")
    window = MainWindow(make_registry(), settings, Answers().prompts(), recover=False,
                        theme_mode="dark")
    qtbot.addWidget(window)
    assert window.session.open_file(path)
    window.trust.ask = lambda *_: ALLOW_ONCE  # the person allows the code for this run
    assert "&Cluster…" in [a.text() for a in window.menuBar().actions()[3].menu().actions()]
    results: list = []
    window.runner.finished.connect(results.append)
    assert window.run_workflow()
    _until(qloop, lambda: bool(results), 60)
    result = results[0]
    assert result is not None and result.ok, result and result.error
    workers = client.run(os.getpid)
    # code.python runs in a child process of whichever process carries out the node
    ancestors = set(result.outputs["pid"])
    assert ancestors & set(workers.values())  # a local run's ancestry has no worker in it
    window.close()
