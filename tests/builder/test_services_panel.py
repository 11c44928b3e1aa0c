"""View → Services: the doctor's checks for the open workflow, online / offline, refreshed."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest

from builder.mainwindow import MainWindow
from builder.panels.services import ServicesPanel
from engine.fileformat import load
from tests.builder.shell_support import Answers, make_registry, temp_settings

pytest_plugins = ["tests.servers.fixtures"]


async def _until(condition, timeout: float = 15.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


def _workflow_file(tmp_path, up: str, down: str):
    doc = {"format": "flowloom.workflow", "version": 1, "name": "services", "nodes": [
        {"id": "a", "type": "ai.chat", "position": [0, 0],
         "params": {"provider": "openai", "base_url": up, "model": "test-model"}},
        {"id": "b", "type": "ai.chat", "position": [0, 200],
         "params": {"provider": "ollama", "base_url": down, "model": "llama3.2"}}]}
    path = tmp_path / "services.loom.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWLOOM_HISTORY_DB", str(tmp_path / "history.db"))
    monkeypatch.setenv("FLOWLOOM_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("FLOWLOOM_SECRETS_BACKEND", "file")
    for name in ("OPENAI_BASE_URL", "OLLAMA_HOST", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.asyncio
async def test_services_panel_marks_servers_online_and_offline_and_refreshes(
        qtbot, tmp_path, llm_server, dead_url, isolated):
    window = MainWindow(make_registry(), temp_settings(tmp_path), Answers().prompts(),
                        recover=False, theme_mode="dark")
    qtbot.addWidget(window)
    assert window.session.open_file(_workflow_file(tmp_path, llm_server.url, dead_url))
    window.show()
    window.acts["services"].trigger()
    panel = window.services_dock.widget()
    assert window.services_dock.isVisible()
    await _until(lambda: panel.refreshes >= 1)
    rows = {panel.tree.topLevelItem(i).text(1): panel.tree.topLevelItem(i)
            for i in range(panel.tree.topLevelItemCount())}
    up = rows[f"openai server {llm_server.url} (model 'test-model')"]
    down = rows[f"ollama server {dead_url} (model 'llama3.2')"]
    assert up.toolTip(0) == "online" and up.text(2) == "online, has test-model"
    assert up.text(3).endswith(" ms")
    assert down.toolTip(0) == "offline" and "cannot reach" in down.text(2)
    online, offline = up.foreground(0).color(), down.foreground(0).color()
    assert online != offline
    assert panel.summary.text() == f"1 of {len(rows)} checks failed"

    # the model disappears from the server: the next Refresh marks it offline
    llm_server.models = ["other-model"]
    panel.refresh_button.click()
    await _until(lambda: panel.refreshes >= 2)
    up = next(panel.tree.topLevelItem(i) for i in range(panel.tree.topLevelItemCount())
              if panel.tree.topLevelItem(i).text(1).startswith("openai"))
    assert up.toolTip(0) == "offline" and "has no model 'test-model'" in up.text(2)

    # and the timer refreshes on its own
    llm_server.models = ["test-model"]
    panel.timer.setInterval(100)
    panel.timer.start()
    await _until(lambda: panel.refreshes >= 3)
    up = next(panel.tree.topLevelItem(i) for i in range(panel.tree.topLevelItemCount())
              if panel.tree.topLevelItem(i).text(1).startswith("openai"))
    assert up.toolTip(0) == "online"

    # it follows the theme, and is painted in both
    for mode in ("light", "dark"):
        window.apply_theme(mode)
        image = panel.grab().toImage()
        assert not image.isNull() and image.width() > 100
        image.save(str(tmp_path / f"services-{mode}.png"))
    window.close()
    assert not panel.timer.isActive()


@pytest.mark.asyncio
async def test_checks_never_block_the_window(qtbot, tmp_path, isolated):
    # a server that accepts the connection and never answers: the loop keeps turning
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    url = f"http://127.0.0.1:{silent.getsockname()[1]}"
    registry = make_registry()
    try:
        workflow = load(_workflow_file(tmp_path, url, url), registry).workflow
        panel = ServicesPanel(registry, lambda: workflow, lambda name: None,
                              lambda: tmp_path / "history.db")
        qtbot.addWidget(panel)
        panel.show()
        await _until(lambda: panel.summary.text() == "Checking…")
        ticks = 0
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        while loop.time() - t0 < 0.5:
            await asyncio.sleep(0.01)
            ticks += 1
        assert ticks >= 10 and panel.refreshes == 0  # still waiting, yet the loop turned
        assert not panel.refresh_button.isEnabled()
        panel.stop()
        await _until(lambda: panel.summary.text() == "Check cancelled")
        assert panel.refresh_button.isEnabled()
    finally:
        silent.close()
