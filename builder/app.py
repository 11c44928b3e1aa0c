"""Starting the editor: `main(path, screenshot)` is what `flowloom [FILE] [--screenshot OUT]` runs.

It creates the QApplication (high-DPI scaling passes fractional factors through unrounded) and
the MainWindow, opens `path`, and either runs Qt's event loop until the last window closes, or —
with `screenshot` — lays the window out at a fixed size, fits the workflow in view, writes a PNG
of the whole window and returns 0. Screenshot mode works with QT_QPA_PLATFORM=offscreen and
never touches recovery files or saved layout.

Runs execute on the same loop as the UI: qasync's asyncio loop over Qt's, made right after the
first frame (qasync and its Qt classes are not first-frame work), or earlier the moment anything
asks asyncio for the loop — a Run pressed before that frame, say (`LoopWhenAsked`).

`python -m builder.app [FILE] --first-frame OUT.png` starts exactly as a person's start does
(their settings, recovery, the event loop) and, when the window's first frame has been painted,
prints `first_frame_at <unix time> cpu <CPU seconds so far>` on stdout, writes that frame to
OUT.png and quits: what bench/startup_editor.py measures.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import logging
import sys
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from builder import feature_scan

if TYPE_CHECKING:  # pragma: no cover - typing only: Qt is imported after `preload()`
    from PySide6.QtWidgets import QApplication

    from engine.registry import Registry

log = logging.getLogger(__name__)

SCREENSHOT_SIZE = (1600, 1000)
EXIT_OK, EXIT_FAILED = 0, 2
GC_START_MS = 3000
# The Qt-free modules the window's first frame uses (the rest come with them), imported by
# `preload()` before PySide6: see there.
QT_FREE_AT_START = (
    "asyncio", "engine.connect", "engine.fileformat", "engine.validate", "engine.trust",
    "engine.runfold", "engine.runstate", "engine.permissions", "engine.context",
    "engine.secretparams", "engine.private",
    "engine.expressions", "engine.loops", "engine.slots", "nodes", "nodes.credentials",
    "platformdirs", "datetime", "json", "sqlite3",
)


def preload() -> Registry:
    """Import the editor's Qt-free start-up modules (engine, nodes, asyncio and what they
    import) before the first PySide6 import. Once PySide6 is loaded, its import hook
    (shibokensupport's `feature_imported`) reads the source of every module imported after
    it, looking for `from __feature__ import`: about 60 ms of CPU over the ~100 Qt-free
    modules of an editor start. Modules already imported cost nothing here.
    tests/builder/test_startup_order.py checks the list is complete and loads no Qt.
    Returns the node registry (its built-in modules are Qt-free too)."""
    for name in QT_FREE_AT_START:
        importlib.import_module(name)
    from nodes import default_registry

    return default_registry()


def _application() -> QApplication:
    from PySide6.QtCore import Qt

    feature_scan.install()  # its import hook's check on each module after this, made cheap
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
            Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(sys.argv[:1] + ["-style", "fusion"])  # (the editor's style)
        from builder.style import FUSION_SET

        app.setProperty(FUSION_SET, True)  # apply_theme need not read the style back
    app.setApplicationName("Flowloom")
    app.setOrganizationName("Flowloom")
    app.setApplicationDisplayName("Flowloom")
    return app


def _settle(app: QApplication, rounds: int = 5) -> None:
    for _ in range(rounds):
        app.processEvents()


def _selected_in_file(workflow: object) -> list[str]:
    """Node ids a file's view-only `"ui": {"selected": [...]}` block asks to show selected."""
    ui = getattr(workflow, "extra", {}).get("ui")
    selected = ui.get("selected") if isinstance(ui, dict) else None
    if isinstance(selected, str):
        selected = [selected]
    return [s for s in selected or [] if isinstance(s, str)]


def take_screenshot(window: object, out: str | Path) -> bool:
    """Lay the window out, fit everything in view, and grab the whole window into `out`.

    Nodes named in the file's `ui.selected` are selected first, so the inspector shows one."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    window.resize(*SCREENSHOT_SIZE)
    window.show()
    _settle(app)
    selected = _selected_in_file(window.document.workflow)
    if selected:
        window.canvas.select_nodes(selected)
    window.problems.check_now()
    window.statusBar().showMessage("Ready")
    _settle(app)
    window.canvas.fit_all()
    _settle(app)
    pixmap = window.grab()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    return pixmap.save(str(out), "PNG")


def main(path: str | None = None, screenshot: str | None = None,
         first_frame: str | None = None) -> int:
    """Open the editor (on `path` if given). With `screenshot`, write a PNG and return; with
    `first_frame`, start normally and quit once the first frame is painted (see above)."""
    # Start-up makes a few hundred thousand objects and frees almost none: the cyclic
    # collector's passes over them (30-80 ms of CPU by the first frame, one full pass with a
    # big file) wait until the window is painted (`_collect_after_start`).
    collecting = gc.isenabled()
    gc.disable()
    registry = preload()
    try:
        return _main(registry, path, screenshot, first_frame, collecting)
    finally:
        if collecting:
            gc.enable()


class LoopWhenAsked(asyncio.DefaultEventLoopPolicy):
    """The editor's asyncio policy: the main thread's loop is qasync's, running inside the Qt
    loop that `app.exec()` runs (`already_running`), and is made the first time it is asked
    for (`asyncio.get_event_loop()`, which `ensure_future` and friends call with no loop
    running) or by `make()`. Other threads get the default policy's loops."""

    def __init__(self, app: QApplication) -> None:
        super().__init__()
        self.app = app
        self.loop: asyncio.AbstractEventLoop | None = None

    def get_event_loop(self) -> asyncio.AbstractEventLoop:
        if self.loop is None and threading.current_thread() is threading.main_thread():
            return self.make()
        return super().get_event_loop()

    def make(self) -> asyncio.AbstractEventLoop:
        if self.loop is None:
            import qasync

            self.loop = qasync.QEventLoop(self.app, already_running=True)
            self.set_event_loop(self.loop)
        return self.loop

    def close(self) -> None:
        """After `app.exec()` returned: the loop (if it was made) stopped and closed."""
        if self.loop is not None:
            self.loop.stop()
            self.loop.close()


def _collect_after_start(window: object) -> None:
    """The collector back on once the first frame is painted (or after GC_START_MS, should
    the window not be painted: started minimised, say)."""
    from PySide6.QtCore import QTimer

    window.first_frame.painted.connect(gc.enable)
    QTimer.singleShot(GC_START_MS, gc.enable)


def _main(registry: Registry, path: str | None, screenshot: str | None, first_frame: str | None,
          collecting: bool) -> int:
    app = _application()
    # Imported here so `flowloom run` and friends never pay for the widget modules.
    from builder.dialogs import Prompts
    from builder.mainwindow import MainWindow

    if screenshot:
        from PySide6.QtCore import QSettings

        # A throw-away settings file: screenshots never read or change the user's layout.
        scratch = tempfile.TemporaryDirectory(prefix="flowloom-shot-")
        settings = QSettings(str(Path(scratch.name) / "settings.ini"), QSettings.Format.IniFormat)
        prompts = Prompts(error=lambda _parent, title, message: sys.stderr.write(
            f"flowloom: {title}: {message}\n"))
        window = MainWindow(registry, settings=settings, prompts=prompts, recover=False)
        if path and not window.session.open_file(path):
            return EXIT_FAILED
        window.session.autosave.discard()
        ok = take_screenshot(window, screenshot)
        window.session.autosave.discard()
        window.hide()
        window.deleteLater()
        _settle(app)
        scratch.cleanup()
        if not ok:
            print(f"flowloom: could not write {screenshot}", file=sys.stderr)
            return EXIT_FAILED
        return EXIT_OK

    from PySide6.QtCore import QTimer

    policy = LoopWhenAsked(app)
    asyncio.set_event_loop_policy(policy)
    try:
        window = MainWindow(registry)
        if collecting:
            _collect_after_start(window)
        window.first_frame.painted.connect(policy.make)  # (or when first asked for)
        QTimer.singleShot(GC_START_MS, policy.make)  # (a window never painted: minimised)
        window.warmed_up.connect(freeze_heap)
        if first_frame:
            window.first_frame.painted.connect(lambda: _report_first_frame(window, first_frame))
        if path:
            window.session.open_file(path)
        window.show()
        app.exec()
        policy.close()
    finally:
        asyncio.set_event_loop_policy(None)
    return EXIT_OK


def freeze_heap() -> None:
    """Move everything alive once the editor is built (Qt wrappers, pyqtgraph, SQLAlchemy: a
    few hundred thousand objects) out of the cyclic collector's reach (`gc.freeze`): otherwise
    a full collection during a big run walks all of it and stops the window for 100-500 ms.
    Done once, in the application only (never unfrozen: a window's objects live as long as
    the process does)."""
    gc.collect()
    gc.freeze()


def _report_first_frame(window: object, out: str) -> None:
    frame = window.first_frame
    sys.stdout.write(f"first_frame_at {frame.painted_at:.6f} cpu {frame.painted_cpu:.6f}\n")
    sys.stdout.flush()
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(out), "PNG")
    window.session.autosave.discard()
    from PySide6.QtWidgets import QApplication

    QApplication.exit()


def _cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m builder.app",
                                     description="Open the Flowloom editor.")
    parser.add_argument("file", nargs="?")
    parser.add_argument("--screenshot", metavar="OUT.png")
    parser.add_argument("--first-frame", metavar="OUT.png",
                        help="start as usual, print when the first frame was painted, save it "
                             "to OUT.png and quit")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    return main(args.file, args.screenshot, args.first_frame)


if __name__ == "__main__":
    raise SystemExit(_cli())
