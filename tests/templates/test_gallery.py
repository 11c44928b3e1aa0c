"""The gallery dialog (pytest-qt): search, filters, Use -> an unsaved copy in the window."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from builder.gallery import GalleryDialog
from builder.mainwindow import FIRST_START_KEY, MainWindow
from builder.templates import find_templates
from engine.fileformat import dumps
from nodes import default_registry
from tests.builder.shell_support import Answers, temp_settings
from tests.templates.support import template


def _window(qtbot, tmp_path, answers=None):
    answers = answers or Answers()
    w = MainWindow(default_registry(), settings=temp_settings(tmp_path),
                   prompts=answers.prompts(), recover=False)
    qtbot.addWidget(w)
    return w, answers


def _shown(dialog):
    return [t.slug for t in dialog.visible_templates()]


def test_search_and_filters_narrow_the_cards(qtbot):
    dialog = GalleryDialog(find_templates())
    qtbot.addWidget(dialog)
    assert len(_shown(dialog)) == len(find_templates()) >= 8
    qtbot.keyClicks(dialog.search, "debate")
    assert _shown(dialog) == ["debate"]
    dialog.search.clear()
    dialog.tag.setCurrentIndex(dialog.tag.findData("llm"))
    assert set(_shown(dialog)) == {"debate", "business_plan", "summarise_approval"}
    dialog.difficulty.setCurrentIndex(dialog.difficulty.findData("advanced"))
    assert _shown(dialog) == ["debate"]
    qtbot.keyClicks(dialog.search, "zzz nothing")
    assert _shown(dialog) == [] and not dialog.empty.isHidden()


def test_llm_cards_say_what_they_need(qtbot):
    dialog = GalleryDialog(find_templates())
    qtbot.addWidget(dialog)
    cards = {c.template.slug: c for c in dialog.cards}
    assert "OPENAI_BASE_URL" in cards["debate"].needs.text()
    assert not cards["debate"].needs.isHidden()
    assert cards["hello"].needs.isHidden()
    assert cards["hello"].template.preview is not None


def test_use_opens_an_unsaved_copy_and_save_asks_for_a_path(qtbot, tmp_path):
    w, answers = _window(qtbot, tmp_path)

    def pick():
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, GalleryDialog)
        qtbot.keyClicks(dialog.search, "website")
        card = next(c for c in dialog.cards if not c.isHidden())
        card.use_button.click()

    QTimer.singleShot(0, pick)
    assert w.new_from_template() is True
    document = w.document
    assert dumps(document.workflow) == dumps(template("website_watch"))
    assert document.path is None and document.modified
    assert "•" in w.windowTitle()
    target = tmp_path / "mine.loom.json"
    answers.save_paths.append(str(target))
    assert w.session.save()
    assert answers.count("save") == 1 and target.exists()
    assert not w.document.modified


def test_new_from_template_is_in_the_file_menu_with_its_shortcut(qtbot, tmp_path):
    w, _ = _window(qtbot, tmp_path)
    action = w.acts["new_from_template"]
    assert action.shortcut().toString() == "Ctrl+Shift+N"
    QTimer.singleShot(0, lambda: QApplication.activeModalWidget().reject())
    action.trigger()
    assert w.document.workflow.nodes == {}  # cancelled: nothing changed


def test_first_start_opens_hello_once(qtbot, tmp_path):
    w, _ = _window(qtbot, tmp_path)
    assert w.offer_first_start() is True
    assert dumps(w.document.workflow) == dumps(template("hello"))
    assert not w.document.modified  # closing asks nothing
    assert w.settings.value(FIRST_START_KEY) is not None
    w.session.new()
    assert w.offer_first_start() is False  # the key is there now
    assert w.document.workflow.nodes == {}


def test_gallery_shows_suggested_templates_for_the_goal_typed(qtbot):
    dialog = GalleryDialog(find_templates())
    qtbot.addWidget(dialog)
    assert dialog.suggested_host.isHidden()
    qtbot.keyClicks(dialog.search, "an approval loop")
    assert not dialog.suggested_host.isHidden()
    assert dialog.suggested_templates()[0].slug == "summarise_approval"
    button = dialog.findChild(type(dialog.suggested_buttons[0]), "suggest_summarise_approval")
    button.click()
    assert dialog.chosen is not None and dialog.chosen.slug == "summarise_approval"
