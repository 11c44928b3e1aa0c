"""The problems panel: the engine's checks of the workflow, re-run a moment after each change.

`validate()` is what "is this runnable?" means — engine.validate.check_workflow, then (if that
found no errors) engine.compile.compile_workflow for graph problems and warnings. The panel runs
it ~300 ms after the last model change, lists the result (errors first), then any plugin the
registry could not load (`registry.load_problems`: a person should see why a node type they
installed is missing, not only a log line), emits
`problems_changed(list[Problem])` for the canvas badges, and `node_requested(node_id)` when a
problem is clicked so the window can select and centre that node.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from builder.icons import icon
from engine.errors import CompileError, Problem
from engine.model import Workflow
from engine.validate import check_workflow

DEBOUNCE_MS = 300
NODE_ROLE = Qt.ItemDataRole.UserRole + 1
_TOPICS = ("node_added", "node_removed", "node_changed", "edge_added", "edge_removed",
           "meta_changed")


def validate(workflow: Workflow, registry: Any) -> list[Problem]:
    """Every problem the engine finds before a run, errors first."""
    from engine.compile import compile_workflow  # networkx: not before the editor's first frame

    problems = check_workflow(workflow, registry)
    if not any(p.is_error for p in problems):
        try:
            problems = compile_workflow(workflow, registry).warnings
        except CompileError as exc:
            problems = exc.problems
    seen: set[Problem] = set()
    unique = [p for p in problems if not (p in seen or seen.add(p))]
    return sorted(unique, key=lambda p: not p.is_error)


def problem_node(problem: Problem) -> str | None:
    """The node a problem is about: its node, or the target of its edge."""
    if problem.node_id is not None:
        return problem.node_id
    if problem.edge is not None:
        return problem.edge[2]
    return None


class ProblemsPanel(QWidget):
    problems_changed = Signal(list)
    node_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workflow: Workflow | None = None
        self.registry: Any = None
        self.problems: list[Problem] = []
        self.checks = 0  # how many times validation ran (tests wait on it)
        self._unchecked = False  # set_document(check=False): the first check is still due
        self._unsubscribe: list[Callable[[], None]] = []
        self._error_color = QColor("#e0524d")
        self._warning_color = QColor("#e0a43a")
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self.check_now)
        self.summary = QLabel("No problems")
        self.summary.setProperty("role", "dim")
        self.list = QListWidget(self)
        self.list.itemActivated.connect(self._on_item)
        self.list.itemClicked.connect(self._on_item)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.setSpacing(4)
        layout.addWidget(self.summary)
        layout.addWidget(self.list)

    def set_colors(self, error: QColor, warning: QColor) -> None:
        self._error_color, self._warning_color = QColor(error), QColor(warning)
        self._fill()

    def set_document(self, workflow: Workflow, registry: Any, *, check: bool = True) -> None:
        """Follow `workflow`; `check=False` leaves the first check to the caller (the editor
        checks right after its first frame) and `pending()` true until it happens."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self.workflow, self.registry = workflow, registry
        self._unsubscribe = [getattr(workflow, t).subscribe(self._on_model_change)
                             for t in _TOPICS]
        if check:
            self.check_now()
        else:
            self._unchecked = True
            self.summary.setText("Checking…")

    def _on_model_change(self, *_args: object) -> None:
        self._timer.start()

    def pending(self) -> bool:
        return self._unchecked or self._timer.isActive()

    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    def check_now(self) -> list[Problem]:
        """Validate at once (Run calls this so it never acts on a stale list)."""
        self._timer.stop()
        self._unchecked = False
        if self.workflow is None:
            return []
        self.problems = validate(self.workflow, self.registry)
        self.checks += 1
        self._fill()
        self.problems_changed.emit(list(self.problems))
        return self.problems

    def plugin_problems(self) -> list[str]:
        """One sentence per plugin the registry could not load."""
        found = getattr(self.registry, "load_problems", None) or []
        return [f"Plugin {name!r} was not loaded: {reason}" for name, reason in found]

    def _fill(self) -> None:
        self.list.clear()
        for problem in self.problems:
            color = self._error_color if problem.is_error else self._warning_color
            text = str(problem).removeprefix("warning: ")
            item = QListWidgetItem(icon("problem", color), text)
            item.setData(NODE_ROLE, problem_node(problem))
            item.setToolTip(text)
            self.list.addItem(item)
        plugins = self.plugin_problems()  # after the workflow's own: rows stay its problems'
        for text in plugins:
            item = QListWidgetItem(icon("problem", self._warning_color), text)
            item.setToolTip(text)
            self.list.addItem(item)
        errors = len(self.errors())
        warnings = len(self.problems) - errors
        if not self.problems:
            self.summary.setText("No problems — ready to run")
        else:
            parts = [f"{errors} error{'s' * (errors != 1)}"] if errors else []
            parts += [f"{warnings} warning{'s' * (warnings != 1)}"] if warnings else []
            self.summary.setText(", ".join(parts))
        if plugins:
            self.summary.setText(f"{self.summary.text()} · {len(plugins)} plugin"
                                 f"{'s' * (len(plugins) != 1)} not loaded")

    def select_problem(self, row: int) -> None:
        """Act as if the user clicked the problem at `row`."""
        item = self.list.item(row)
        if item is not None:
            self.list.setCurrentItem(item)
            self._on_item(item)

    def _on_item(self, item: QListWidgetItem) -> None:
        node_id = item.data(NODE_ROLE)
        if node_id and self.workflow is not None and node_id in self.workflow.nodes:
            self.node_requested.emit(node_id)
