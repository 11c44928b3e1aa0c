"""View ▸ Dashboard with a real history database: the numbers, the plots, PNG and CSV export."""

from __future__ import annotations

import csv
import io
import json

from PySide6.QtGui import QImage

from builder.mainwindow import MainWindow
from builder.panels.dashboard import DashboardPanel
from engine.alerts import Alert, _fired
from engine.compile import compile_workflow
from engine.executor import Run
from engine.fileformat import load
from engine.history import HistoryRecorder, HistoryStore
from engine.history.alerts import record_alerts
from engine.history.dashboard import dashboard
from nodes import default_registry
from tests.builder.shell_support import Answers, temp_settings
from tests.cli.test_alerts import _flaky_workflow


def _record_runs(qloop, store, path, fails):
    registry = default_registry()
    compiled = compile_workflow(load(path, registry).workflow, registry)
    ids = []
    for fail in fails:
        run = Run(compiled, {"fail": fail})
        recorder = HistoryRecorder(store, path).attach(run)

        async def go(run=run, recorder=recorder):
            result = await run.execute()
            await recorder.aclose()
            return result

        qloop.run_until_complete(go())
        ids.append(run.run_id)
    return ids


def test_the_dashboard_shows_every_workflow_and_exports(qtbot, qloop, tmp_path):
    db = tmp_path / "h.db"
    a = tmp_path / "flaky.loom.json"
    a.write_text(json.dumps(_flaky_workflow([])), encoding="utf-8")
    b = tmp_path / "steady.loom.json"
    steady = _flaky_workflow([])
    steady["name"] = "steady"
    b.write_text(json.dumps(steady), encoding="utf-8")
    store = HistoryStore.open(db)
    try:
        ids = _record_runs(qloop, store, a, [False, True, True, False])
        _record_runs(qloop, store, b, [False, False])
        record_alerts(store, ids[-1], a, [_fired(ids[-1], Alert("failure_rate", 0.4, None, 4),
                                                 0.5, "failure rate")])
        board = dashboard(store)
        by_name = {w.name: w for w in board.workflows}
        assert by_name["flaky"].runs == 4 and by_name["flaky"].success_rate == 0.5
        assert by_name["flaky"].alerts == 1 and by_name["steady"].alerts == 0
        assert by_name["flaky"].flakiest_node == "boom"
        assert by_name["steady"].slowest_node == "wait"
        assert by_name["steady"].p50_s is not None and by_name["steady"].p50_s >= 0.25
        assert sum(d.runs for d in board.days) == 6

        for mode in ("dark", "light"):
            window = MainWindow(default_registry(), settings=temp_settings(tmp_path),
                                prompts=Answers().prompts(), recover=False, theme_mode=mode)
            qtbot.addWidget(window)
            panel = DashboardPanel(store, window.theme, parent=window)
            panel.show()
            shown = qloop.run_until_complete(panel.refresh_async())
            assert shown.workflows == board.workflows
            assert panel.table.rowCount() == 2
            assert panel.table.item(0, 0).text() == "flaky"
            assert panel.table.item(0, 2).text() == "50%"
            assert panel.table.item(0, 7).text() == "1"
            assert "6 runs, 1 alert fired" in panel.summary.text()
            heights = panel.runs_bars.opts["height"]
            assert list(heights) == [d.runs for d in board.days]
            assert list(panel.rate_curve.getData()[1]) == [d.success_rate * 100
                                                           for d in board.days]
            png = tmp_path / f"dashboard-{mode}.png"
            assert panel.export_png(png)
            image = QImage(str(png))
            assert image.width() > 500 and image.height() > 300
            # The plot background follows the theme.
            bg = panel.runs_plot.backgroundBrush().color().name()
            assert bg == window.theme.background.name()
        out = tmp_path / "dashboard.csv"
        panel.export_csv(out)
        rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
        assert rows[0][:3] == ["workflow", "name", "runs"]
        assert {r[1] for r in rows[1:3]} == {"flaky", "steady"}
        assert ["day", "runs", "succeeded"] in rows
    finally:
        store.close()


def test_the_view_menu_opens_the_dashboard(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWLOOM_HISTORY_DB", str(tmp_path / "empty.db"))
    window = MainWindow(default_registry(), settings=temp_settings(tmp_path),
                        prompts=Answers().prompts(), recover=False)
    qtbot.addWidget(window)
    window.acts["dashboard"].trigger()
    panel = window.findChild(DashboardPanel)
    assert panel is not None and panel.isVisible()
    assert panel.table.rowCount() == 0 and "0 workflows" in panel.summary.text()
