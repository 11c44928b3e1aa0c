"""File ▸ Describe a workflow…: a goal in, an LLM-drafted workflow on the canvas.

The dialog only gathers the goal and the LLM settings and shows progress; the planning is
nodes/planner.py's `plan_workflow`, run as an asyncio task on the window's qasync loop (never
blocking it). A draft that validated opens as an unsaved document (no path, marked modified),
and the model's short explanation is shown in the dialog and the status bar. The settings are
remembered in the window's QSettings under "planner/".
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from builder.cli_plan import starting_point
from builder.document import Document, Session
from nodes.credentials import CredentialStore
from nodes.planner import LLMSettings, PlanFailed, PlanResult, plan_workflow

log = logging.getLogger(__name__)
KEYS = ("provider", "base_url", "model", "api_key_secret")


class PlanDialog(QDialog):
    """Describe a goal, press Draft; the result opens in `session` as an unsaved draft."""

    def __init__(self, session: Session, registry: Any, settings: Any,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Describe a workflow")
        self.session, self.registry, self.settings = session, registry, settings
        self.task: asyncio.Future[Any] | None = None
        self.result: PlanResult | None = None
        self.goal = QPlainTextEdit()
        self.goal.setPlaceholderText("What should the workflow do? e.g. “Fetch three APIs in "
                                     "parallel and report which ones failed”")
        self.provider = QComboBox()
        self.provider.addItems(["openai", "ollama"])
        self.base_url = QLineEdit()
        self.base_url.setPlaceholderText("empty: OPENAI_BASE_URL / OLLAMA_HOST")
        self.model = QLineEdit()
        self.model.setPlaceholderText("e.g. llama3.2, gpt-4o-mini")
        self.api_key_secret = QLineEdit()
        self.api_key_secret.setPlaceholderText("credential name (optional)")
        form = QFormLayout()
        form.addRow("Goal", self.goal)
        form.addRow("Provider", self.provider)
        form.addRow("Server", self.base_url)
        form.addRow("Model", self.model)
        form.addRow("API key", self.api_key_secret)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.explanation = QLabel("")
        self.explanation.setWordWrap(True)
        self.draft_button = QPushButton("Draft")
        self.draft_button.setDefault(True)
        self.draft_button.clicked.connect(self.start)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.draft_button)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addWidget(self.explanation)
        layout.addLayout(buttons)
        self._restore()
        self.resize(560, 420)

    def _restore(self) -> None:
        for key in KEYS:
            value = str(self.settings.value(f"planner/{key}", "") or "")
            if key == "provider":
                self.provider.setCurrentText(value or "openai")
            else:
                getattr(self, key).setText(value)

    def llm_settings(self) -> LLMSettings:
        return LLMSettings(provider=self.provider.currentText(),
                           base_url=self.base_url.text().strip(),
                           model=self.model.text().strip(),
                           api_key_secret=self.api_key_secret.text().strip())

    def start(self) -> str | None:
        """Start drafting; returns why it cannot start, or None when it started."""
        goal = self.goal.toPlainText().strip()
        llm = self.llm_settings()
        why = ("Say what the workflow should do." if not goal
               else "Give the model to ask." if not llm.model
               else "A draft is already being made." if self.running else None)
        if why is not None:
            self.status.setText(why)
            return why
        for key in KEYS:
            self.settings.setValue(f"planner/{key}", getattr(llm, key))
        self.result = None
        self.explanation.setText("")
        self.draft_button.setEnabled(False)
        self.status.setText("Asking the model for a draft…")
        self.task = asyncio.ensure_future(self._plan(goal, llm))
        return None

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def _on_round(self, number: int, problems: list[str]) -> None:
        self.status.setText(f"Draft {number} has {len(problems)} problem"
                            f"{'s' * (len(problems) != 1)}; asking for a repair…")

    async def _plan(self, goal: str, llm: LLMSettings) -> PlanResult | None:
        try:
            start = await asyncio.to_thread(starting_point, goal)
            result = await plan_workflow(goal, self.registry, llm, start=start,
                                         secrets=CredentialStore().get,
                                         on_round=self._on_round)
        except PlanFailed as exc:
            lines = "\n".join(f"• {p}" for p in exc.problems[:8])
            self.status.setText(f"{exc}\n{lines}" if lines else str(exc))
            return None
        except Exception as exc:  # noqa: BLE001 - the dialog says what went wrong, never crashes
            log.exception("planning failed")
            self.status.setText(f"Planning failed: {type(exc).__name__}: {exc}")
            return None
        finally:
            self.draft_button.setEnabled(True)
        self.result = result
        self.open_draft(result)
        return result

    def open_draft(self, result: PlanResult) -> bool:
        """Put the draft in the window as an unsaved document (asks about unsaved work)."""
        if not self.session.maybe_discard():
            self.status.setText("The draft was not opened: the current work was kept.")
            return False
        document = Document(result.workflow, None, parent=self.session)
        document.mark_modified()
        self.session.replace_document(document)
        drafts = f"{result.rounds} draft{'s' * (result.rounds != 1)}"
        self.status.setText(f"Opened an unsaved draft ({drafts}); Save asks where to put it.")
        self.explanation.setText(result.explanation)
        self.session.message.emit(f"Drafted by the model: {result.explanation}")
        return True

    def reject(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
        super().reject()


def show_for(window: Any) -> PlanDialog:
    """Open the dialog beside `window` (File ▸ Describe a workflow…)."""
    dialog = PlanDialog(window.session, window.registry, window.settings, parent=window)
    dialog.show()
    return dialog
