"""One editor widget per parameter type, for the inspector's generated form.

Each field shows a value (`set_value`), reads one back (`read()` -> value, or raises ValueError
with a sentence saying what is wrong) and emits `committed` when the user finished an edit. The
inspector turns a commit into an undoable command; fields never touch the model themselves.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtGui import QFocusEvent, QFontDatabase
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QWidget,
)

from engine.errors import WorkflowFileError
from engine.fileformat import read_json
from engine.nodetype import Param

TEXT_COMMIT_MS = 600
_BIG = 1_000_000_000


def monospace() -> Any:
    return QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)


class _PlainText(QPlainTextEdit):
    focus_lost = Signal()

    def focusOutEvent(self, event: QFocusEvent) -> None:  # noqa: N802 - Qt override
        super().focusOutEvent(event)
        self.focus_lost.emit()


class Field(QObject):
    """Base: a widget plus value conversion. Subclasses set `self.widget` and wire `committed`."""

    committed = Signal()

    def __init__(self, param: Param) -> None:
        super().__init__()
        self.param = param
        self.widget: QWidget

    def set_value(self, value: Any) -> None:
        raise NotImplementedError

    def read(self) -> Any:
        raise NotImplementedError

    def set_invalid(self, invalid: bool) -> None:
        self.widget.setProperty("invalid", "true" if invalid else "false")
        self.widget.style().unpolish(self.widget)
        self.widget.style().polish(self.widget)


class LineField(Field):
    """str and expression: one line; expressions in monospace."""

    def __init__(self, param: Param, mono: bool = False) -> None:
        super().__init__(param)
        self.widget = QLineEdit()
        if mono:
            self.widget.setFont(monospace())
        if param.default not in (None, ""):
            self.widget.setPlaceholderText(str(param.default))
        self.widget.editingFinished.connect(self.committed)

    def set_value(self, value: Any) -> None:
        text = "" if value is None else str(value)
        if self.widget.text() != text:
            with QSignalBlocker(self.widget):
                self.widget.setText(text)

    def read(self) -> Any:
        return self.widget.text()


class TextField(Field):
    """text and code: several lines, committed a moment after typing stops or on focus out.
    With `as_json`, the text must be JSON (list/dict/any params); empty means unset."""

    def __init__(self, param: Param, mono: bool = False, as_json: bool = False) -> None:
        super().__init__(param)
        self.as_json = as_json
        self.widget = _PlainText()
        if mono or as_json:
            self.widget.setFont(monospace())
        self.widget.setTabChangesFocus(True)
        self.widget.setMinimumHeight(56)
        self.widget.setMaximumHeight(120)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(TEXT_COMMIT_MS)
        self._timer.timeout.connect(self.committed)
        self.widget.textChanged.connect(self._timer.start)
        self.widget.focus_lost.connect(self.flush)

    def flush(self) -> None:
        if self._timer.isActive():
            self._timer.stop()
            self.committed.emit()

    def _render(self, value: Any) -> str:
        if not self.as_json:
            return "" if value is None else str(value)
        if value is None:
            return ""
        return json.dumps(value, indent=2, ensure_ascii=False)

    def set_value(self, value: Any) -> None:
        try:
            if self.read() == value:
                return
        except ValueError:
            pass
        with QSignalBlocker(self.widget):
            self.widget.setPlainText(self._render(value))

    def read(self) -> Any:
        text = self.widget.toPlainText()
        if not self.as_json:
            return text
        if not text.strip():
            return None
        try:  # the loader's reader: NaN, huge numbers and lone surrogates could not be saved
            return read_json(text, "the value")[0]
        except WorkflowFileError as exc:
            raise ValueError(str(exc).rstrip(".")) from None


class NumberField(Field):
    """int and number. A param whose default is None can be left unset: one step below the
    lowest value the box shows "not set", which reads back as None (the param is removed)."""

    def __init__(self, param: Param, integer: bool) -> None:
        super().__init__(param)
        self.integer = integer
        self.optional = param.default is None and not param.required
        low = param.minimum if param.minimum is not None else (0 if self.optional else -_BIG)
        if integer:
            self.widget = QSpinBox()
        else:
            self.widget = QDoubleSpinBox()
            self.widget.setDecimals(3)
        self._unset = low - 1 if self.optional else None
        self.widget.setRange(self._unset if self.optional else low, _BIG)
        if self.optional:
            self.widget.setSpecialValueText("not set")
        self.widget.setKeyboardTracking(False)  # commit on Enter/focus-out/arrows, not per key
        self.widget.setMinimumWidth(72)  # the huge range would otherwise set a wide minimum
        self.widget.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.widget.valueChanged.connect(lambda _v: self.committed.emit())

    def set_value(self, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            value = self._unset if self.optional else (self.param.minimum or 0)
        with QSignalBlocker(self.widget):
            self.widget.setValue(int(value) if self.integer else float(value))

    def read(self) -> Any:
        value = self.widget.value()
        if self.optional and value == self.widget.minimum():
            return None
        if not self.integer and float(value).is_integer():
            return int(value) if isinstance(self.param.default, int) else float(value)
        return value


class BoolField(Field):
    def __init__(self, param: Param) -> None:
        super().__init__(param)
        self.widget = QCheckBox()
        self.widget.toggled.connect(lambda _b: self.committed.emit())

    def set_value(self, value: Any) -> None:
        with QSignalBlocker(self.widget):
            self.widget.setChecked(bool(value))

    def read(self) -> Any:
        return self.widget.isChecked()


class ChoiceField(Field):
    def __init__(self, param: Param) -> None:
        super().__init__(param)
        self.widget = QComboBox()
        self.widget.setMinimumContentsLength(6)
        self.widget.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        for choice in param.choices:
            self.widget.addItem(str(choice), choice)
        self.widget.currentIndexChanged.connect(lambda _i: self.committed.emit())

    def set_value(self, value: Any) -> None:
        index = self.widget.findData(value)
        with QSignalBlocker(self.widget):
            if index < 0 and value is not None:  # a value the type no longer offers: show it
                self.widget.addItem(f"{value} (not a choice)", value)
                index = self.widget.count() - 1
            self.widget.setCurrentIndex(index)

    def read(self) -> Any:
        return self.widget.currentData()


class SecretField(Field):
    """A credential *name* (never the secret): a combo of known names, or free text."""

    def __init__(self, param: Param, names: Callable[[], list[str]] | None) -> None:
        super().__init__(param)
        self.widget = QComboBox()
        self.widget.setMinimumContentsLength(6)
        self.widget.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.widget.setEditable(True)
        self.widget.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.widget.lineEdit().setPlaceholderText("credential name")
        try:
            known = sorted(names()) if names else []
        except Exception:  # a broken keyring must not break the inspector
            known = []
        self.widget.addItems(known)
        self.widget.setToolTip("The name of a stored credential; the secret itself is never "
                               "kept in the workflow (flowloom secrets set NAME).")
        self.widget.activated.connect(lambda _i: self.committed.emit())
        self.widget.lineEdit().editingFinished.connect(self.committed)

    def set_value(self, value: Any) -> None:
        text = "" if value is None else str(value)
        if self.widget.currentText() != text:
            with QSignalBlocker(self.widget):
                self.widget.setEditText(text)

    def read(self) -> Any:
        return self.widget.currentText().strip()


def make_field(param: Param, credential_names: Callable[[], list[str]] | None = None) -> Field:
    """The field for a parameter, chosen by its metadata."""
    if param.secret:
        return SecretField(param, credential_names)
    if param.choices:
        return ChoiceField(param)
    kind = param.type
    if kind == "bool":
        return BoolField(param)
    if kind in ("int", "number"):
        return NumberField(param, integer=kind == "int")
    if kind == "expression":
        return LineField(param, mono=True)
    if kind == "text":
        return TextField(param)
    if kind == "code":
        return TextField(param, mono=True)
    if kind in ("list", "dict", "any", "bytes"):
        return TextField(param, as_json=True)
    return LineField(param)
