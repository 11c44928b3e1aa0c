"""Finding and loading plugin node types, without ever letting a broken plugin crash the app.

Two sources, in this order:
* installed packages declaring entry points in the group `flowloom.nodes`; the entry point names
  a NodeType subclass, a sequence of them, or a module with `TYPES` (else every NodeType subclass
  defined in the module);
* `*.py` files in the user's node folder: `platformdirs.user_data_dir("flowloom")/nodes`, or
  the folder in the environment variable `FLOWLOOM_NODES_DIR`.
A plugin loads whole or not at all: if it fails to import, defines no node type, or has a type
with a bad declaration or an id that is already taken, none of its types are registered and
`(plugin name, reason)` is appended to `registry.load_problems`.

A plugin that hangs at import cannot hang Flowloom: each plugin is imported in a daemon thread
and waited for at most IMPORT_DEADLINE_S; one that takes longer is reported ("plugin 'slow.py'
did not load within 5 s") and everything else goes on. Python cannot kill a thread: the
abandoned one is asked to stop with an asynchronous exception (which ends a plugin looping in
Python code) and otherwise left behind, a daemon, so it never keeps the process alive at exit.
Registering the types happens in the caller's thread, never in the import thread.
"""

from __future__ import annotations

import importlib.util
import inspect
import logging
import os
import sys
import threading
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import platformdirs

from engine.nodetype import NodeType
from engine.registry import Registry

if TYPE_CHECKING:  # pragma: no cover - typing only
    from importlib.metadata import EntryPoint

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "flowloom.nodes"
NODES_DIR_ENV = "FLOWLOOM_NODES_DIR"
_USER_MODULE_PREFIX = "flowloom_user_nodes."
IMPORT_DEADLINE_S = 5.0  # how long one plugin may take to import
# Modules whose finders of distributions read the same *.dist-info folders on sys.path
# (the importlib_metadata backport, which some libraries import, adds one to sys.meta_path)
_PATH_DISTRIBUTIONS = frozenset({"importlib_metadata", "importlib.metadata"})


class _Abandoned(BaseException):
    """Raised inside a plugin's import thread that ran past its deadline (BaseException, so a
    plugin's own `except Exception` does not swallow it)."""


class PluginError(Exception):
    """Why one plugin was skipped (one sentence)."""


def user_nodes_dir() -> Path:
    """The folder whose `*.py` files are loaded as plugins."""
    override = os.environ.get(NODES_DIR_ENV)
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_data_dir("flowloom")) / "nodes"


def types_in(obj: Any) -> list[type[NodeType]]:
    """The node types an entry point or a plugin module provides."""
    if isinstance(obj, type) and issubclass(obj, NodeType):
        return [obj]
    if isinstance(obj, ModuleType):
        declared = getattr(obj, "TYPES", None)
        if declared is not None:
            return types_in(declared)
        return [value for value in vars(obj).values()
                if isinstance(value, type) and issubclass(value, NodeType)
                and value.__module__ == obj.__name__ and not inspect.isabstract(value)
                and value.type_id]
    if isinstance(obj, (list, tuple)):
        bad = [v for v in obj if not (isinstance(v, type) and issubclass(v, NodeType))]
        if bad:
            raise PluginError(f"TYPES holds {bad[0]!r}, which is not a NodeType subclass")
        return list(obj)
    raise PluginError(f"it provides {obj!r}, which is neither a NodeType subclass, a list of "
                      f"them, nor a module")


def _short_error(exc: BaseException) -> str:
    where = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    place = f" ({Path(where[0].filename).name}, line {where[0].lineno})" if where else ""
    return f"{type(exc).__name__}: {exc}{place}"


def add_plugin(registry: Registry, name: str, types: Iterable[type[NodeType]]) -> bool:
    """Register all of `types` or none; on refusal record why under `name`. True if added."""
    types = list(types)
    problem = None
    if not types:
        problem = "it defines no node type"
    seen: set[str] = set()
    for node_type in types:
        if problem:
            break
        declaration = node_type.check_declaration()
        if declaration:
            problem = f"node type {node_type.type_id!r}: " + "; ".join(declaration)
        elif node_type.type_id in registry or node_type.type_id in seen:
            problem = f"node type id {node_type.type_id!r} is already taken"
        seen.add(node_type.type_id)
    if problem is None:
        try:
            for node_type in types:
                registry.register(node_type)
            return True
        except Exception as exc:  # pragma: no cover - the checks above mirror register()
            problem = str(exc)
    registry.load_problems.append((name, problem))
    log.warning("plugin %s was skipped: %s", name, problem)
    return False


def load_entry_points(registry: Registry,
                      found: Iterable[EntryPoint] | None = None) -> list[str]:
    """Load plugins from installed packages; returns the names of those that loaded."""
    loaded = []
    if found is None:
        if not may_declare_entry_points():
            return loaded
        from importlib.metadata import entry_points  # noqa: PLC0415 - see may_declare_...

        found = entry_points(group=ENTRY_POINT_GROUP)
    for ep in found:
        name = f"{ep.name} ({ep.value})"
        if _load_one(registry, name, ep.load, label=ep.name):
            loaded.append(name)
    return loaded


def may_declare_entry_points(path: Iterable[str] | None = None) -> bool:
    """Whether any installed distribution on `path` (sys.path) may declare entry points in
    ENTRY_POINT_GROUP: a quick look at the `entry_points.txt` of each `*.dist-info` /
    `*.egg-info` folder for the group's name. False lets every start skip importing
    `importlib.metadata` (email, zipfile, csv: 50-130 ms of an editor start here) and its
    scan of every distribution, for the usual install, which has no Flowloom plugin package.
    Anything this look cannot see through (a zip on the path, a finder of distributions other
    than the path's own) answers True, and importlib.metadata decides."""
    from importlib.machinery import PathFinder  # noqa: PLC0415 - already loaded by Python

    if any(hasattr(finder, "find_distributions") and finder is not PathFinder
           and type(finder).__module__ not in _PATH_DISTRIBUTIONS for finder in sys.meta_path):
        return True
    marker = ENTRY_POINT_GROUP.encode()
    for entry in sys.path if path is None else path:
        try:
            names = os.listdir(entry or ".")
        except NotADirectoryError:
            return True  # a zip or egg file on the path
        except OSError:
            continue  # a folder that is not there: importlib.metadata skips it too
        for name in names:
            if not name.endswith((".dist-info", ".egg-info")):
                continue
            try:
                with open(os.path.join(entry or ".", name, "entry_points.txt"), "rb") as file:
                    if marker in file.read():
                        return True
            except FileNotFoundError:
                continue
            except OSError:
                return True
    return False


def _load_one(registry: Registry, name: str, load: Callable[[], Any], *, label: str = "",
              deadline_s: float = IMPORT_DEADLINE_S) -> bool:
    """Import one plugin with `load` (in a thread, for at most `deadline_s`) and register its
    types; a failure or a hang is recorded under `name`, never raised."""
    outcome: list[Any] = []

    def work() -> None:
        try:
            outcome.append(types_in(load()))
        except _Abandoned:
            pass
        except BaseException as exc:  # any failure in a plugin is its own problem
            outcome.append(exc)

    thread = threading.Thread(target=work, daemon=True, name=f"flowloom-plugin:{label or name}")
    thread.start()
    thread.join(deadline_s)
    if thread.is_alive():
        _abandon(thread)
        message = (f"plugin {label or name!r} did not load within {deadline_s:g} s; Flowloom "
                   f"goes on without it")
    elif not outcome:  # pragma: no cover - work() always records something
        message = "its import stopped without a result"
    elif isinstance(outcome[0], BaseException):
        exc = outcome[0]
        message = str(exc) if isinstance(exc, PluginError) else \
            f"it failed to import: {_short_error(exc)}"
    else:
        return add_plugin(registry, name, outcome[0])
    registry.load_problems.append((name, message))
    log.warning("plugin %s was skipped: %s", name, message)
    return False


def _abandon(thread: threading.Thread) -> None:
    """Ask a plugin's import thread to stop: an exception raised in it at its next Python
    instruction (CPython); a thread blocked in C (sleep, I/O) just stays, a daemon."""
    import ctypes  # only here: most runs never abandon a plugin, and startup should not pay

    setter = getattr(getattr(ctypes, "pythonapi", None), "PyThreadState_SetAsyncExc", None)
    if setter is None or thread.ident is None or not thread.is_alive():
        return
    setter(ctypes.c_ulong(thread.ident), ctypes.py_object(_Abandoned))


def load_folder(registry: Registry, folder: Path | None = None) -> list[str]:
    """Load each `*.py` file of the user's node folder as a plugin; returns the loaded names."""
    folder = user_nodes_dir() if folder is None else folder
    if not folder.is_dir():
        return []
    loaded = []
    for path in sorted(folder.glob("*.py")):
        if path.name.startswith("_"):
            continue
        name = str(path)
        if _load_one(registry, name, lambda path=path: _import_file(path), label=path.name):
            loaded.append(name)
    return loaded


def _import_file(path: Path) -> ModuleType:
    module_name = _USER_MODULE_PREFIX + path.stem
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise PluginError(f"{path} cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    # Registered while it runs so that dataclasses and typing inside the plugin can find it.
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


def load_plugins(registry: Registry) -> Registry:
    """Entry-point plugins, then the user's node folder. Never raises for a plugin's fault."""
    load_entry_points(registry)
    load_folder(registry)
    return registry
