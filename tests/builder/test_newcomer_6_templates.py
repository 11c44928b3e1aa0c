"""Point 6: a template runs from the gallery as it is — its unsaved copy reads its sample data
and writes its outputs to a folder of its own in the user's documents (never the install, never
the working directory), and the success line fits beside the node count."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt

from builder.gallery import GalleryDialog, open_template
from builder.templates import TEMPLATES_DIR, find_templates
from tests.builder.newcomer_support import make_window, press_run, run_to_end


@pytest.fixture
def documents(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWLOOM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FLOWLOOM_HISTORY_DB", str(tmp_path / "history.db"))
    monkeypatch.setenv("FLOWLOOM_DOCUMENTS_DIR", str(tmp_path / "Documents"))
    elsewhere = tmp_path / "somewhere-else"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the process's working directory is not the template's
    return tmp_path / "Documents"


def test_the_data_pipeline_template_runs_from_the_gallery_on_its_first_try(
        qtbot, qloop, tmp_path, documents):
    installed = sorted(p.name for p in TEMPLATES_DIR.iterdir())
    window = make_window(qtbot, tmp_path)
    gallery = GalleryDialog(find_templates(), window)
    qtbot.addWidget(gallery)
    gallery.show()
    qtbot.keyClicks(gallery.search, "data pipeline")
    card = next(c for c in gallery.cards if not c.isHidden())
    qtbot.mouseClick(card.use_button, Qt.MouseButton.LeftButton)
    assert gallery.result() == GalleryDialog.DialogCode.Accepted
    assert open_template(window.session, gallery.chosen)
    assert window.document.path is None

    press_run(qtbot, window)
    result = run_to_end(window, qloop)
    assert result.status == "succeeded", window.runner.lines[-3:]
    folder = documents / "Flowloom" / "data_pipeline"
    report = json.loads((folder / "sales-report.json").read_text())
    assert report["orders"] > 0
    assert (folder / "sales.csv").is_file()  # the sample data came along
    assert sorted(p.name for p in TEMPLATES_DIR.iterdir()) == installed  # nothing installed
    assert list((tmp_path / "somewhere-else").iterdir()) == []

    bar = window.statusBar()
    message = bar.currentMessage()
    assert "succeeded" in message and "data_pipeline" in bar.toolTip()
    room = bar.width() - window.status_label.width()
    assert bar.fontMetrics().horizontalAdvance(message) < room  # not cut under the count


def test_a_second_run_keeps_the_persons_changed_sample_data(qtbot, qloop, tmp_path, documents):
    folder = documents / "Flowloom" / "data_pipeline"
    folder.mkdir(parents=True)
    (folder / "sales.csv").write_text("region,amount,status\nNorth,5,paid\n")
    window = make_window(qtbot, tmp_path)
    template = next(t for t in find_templates() if t.slug == "data_pipeline")
    assert open_template(window.session, template)
    press_run(qtbot, window)
    assert run_to_end(window, qloop).status == "succeeded"
    report = json.loads((folder / "sales-report.json").read_text())
    assert report["orders"] == 1 and report["total"] == 5.0
