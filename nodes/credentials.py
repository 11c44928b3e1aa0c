"""Named credentials (API keys, tokens), kept outside workflow files.

A secret parameter (`Param(secret=True)`) holds only a credential *name*; the value lives in
the system keyring when a usable one exists, else in `secrets.json` (mode 0600, folder 0700) in
`platformdirs.user_config_dir("flowloom")` (or `$FLOWLOOM_CONFIG_DIR`). `FLOWLOOM_SECRETS_BACKEND`
= `file` | `keyring` forces a backend. With the keyring, the names (never the values) are also
listed in `secret-names.json`, because keyrings cannot list their entries.

Headless Linux: a keyring backend that needs D-Bus is only used when a session bus address is
set, so detection never waits on a missing bus.

`CredentialStore.get` is what a host passes as `Services.secrets`. `secret_problems` is the
validation step (missing credential, literal where a name belongs); `secret_literal_problems`
is what a file writer checks before saving. `secrets_main` is `flowloom secrets ...`.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import sys
from pathlib import Path
from typing import IO, Any

import platformdirs

from engine.errors import FlowloomError, Problem
from engine.model import Workflow
from engine.private import write_private_text
from engine.registry import Registry
from engine.secretparams import (  # noqa: F401 - re-exported: nodes.credentials' public API
    KEY_PREFIXES,
    NAME_RE,
    literal_reason,
    secret_literal_problems,
    secret_params,
)

log = logging.getLogger(__name__)

CONFIG_DIR_ENV = "FLOWLOOM_CONFIG_DIR"
BACKEND_ENV = "FLOWLOOM_SECRETS_BACKEND"
SERVICE = "flowloom"
class CredentialError(FlowloomError):
    """A credential cannot be stored or read (bad name, unusable keyring, unreadable file)."""


def config_dir() -> Path:
    override = os.environ.get(CONFIG_DIR_ENV)
    return Path(override).expanduser() if override else Path(
        platformdirs.user_config_dir("flowloom"))


def check_name(name: str) -> str:
    """`name` if it is a valid credential name, else CredentialError saying why."""
    reason = literal_reason(name) if isinstance(name, str) else "it is not text"
    if reason:
        shown = f"{name!r}" if isinstance(name, str) and len(name) <= 20 and not \
            name.startswith(KEY_PREFIXES) else "the name given"  # it may be a pasted key
        raise CredentialError(f"{shown} is not a valid credential name: {reason} "
                              f"(letters, digits, '_', '-', '.'; at most 64 characters)")
    return name


# --- backends -------------------------------------------------------------------------------
def _write_private(path: Path, data: dict[str, Any]) -> None:
    """Atomically write JSON readable only by the user (0600 in a 0700 folder)."""
    write_private_text(path, json.dumps(data, indent=2, sort_keys=True))


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise CredentialError(f"cannot read {path}: {exc}") from None
    return data if isinstance(data, dict) else {}


class FileBackend:
    """Secrets in one JSON file that only the user can read."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def describe(self) -> str:
        return f"file {self.path}"

    def _load(self) -> dict[str, str]:
        if self.path.exists() and os.name == "posix":
            mode = self.path.stat().st_mode & 0o777
            if mode & 0o077:
                log.warning("%s was readable by others (mode %o); made it private", self.path,
                            mode)
                os.chmod(self.path, 0o600)
        secrets = _read_json(self.path).get("secrets", {})
        return {k: v for k, v in secrets.items() if isinstance(v, str)}

    def get(self, name: str) -> str | None:
        return self._load().get(name)

    def set(self, name: str, value: str) -> None:
        secrets = self._load()
        secrets[name] = value
        _write_private(self.path, {"secrets": secrets})

    def delete(self, name: str) -> bool:
        secrets = self._load()
        if secrets.pop(name, None) is None:
            return False
        _write_private(self.path, {"secrets": secrets})
        return True

    def names(self) -> list[str]:
        return sorted(self._load())


class KeyringBackend:
    """Values in a `keyring` backend; their names in a small index file beside the config."""

    def __init__(self, keyring: Any, index: Path) -> None:
        self.keyring = keyring
        self.index = index

    def describe(self) -> str:
        return f"keyring {type(self.keyring).__module__}.{type(self.keyring).__name__}"

    def _names(self) -> set[str]:
        return {n for n in _read_json(self.index).get("names", []) if isinstance(n, str)}

    def get(self, name: str) -> str | None:
        return self.keyring.get_password(SERVICE, name)

    def set(self, name: str, value: str) -> None:
        self.keyring.set_password(SERVICE, name, value)
        _write_private(self.index, {"names": sorted(self._names() | {name})})

    def delete(self, name: str) -> bool:
        names = self._names()
        found = self.keyring.get_password(SERVICE, name) is not None
        if found:
            self.keyring.delete_password(SERVICE, name)
        if name in names:
            _write_private(self.index, {"names": sorted(names - {name})})
        return found

    def names(self) -> list[str]:
        return sorted(n for n in self._names() if self.keyring.get_password(SERVICE, n))


def system_keyring() -> Any | None:
    """A usable system keyring backend, or None (quickly) when there is none."""
    try:
        import keyring
        from keyring.backends import chainer, fail
    except ImportError:
        return None
    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring) or getattr(backend, "priority", 0) <= 0:
        return None
    if isinstance(backend, chainer.ChainerBackend) and not backend.backends:
        return None
    module = type(backend).__module__
    needs_dbus = "SecretService" in module or "kwallet" in module.lower()
    if needs_dbus and not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return None
    return backend


class CredentialStore:
    """get / set / delete / list named secrets. `store.get` is a `Services.secrets` hook."""

    def __init__(self, folder: Path | None = None, backend: str | None = None,
                 keyring: Any | None = None) -> None:
        self.folder = folder or config_dir()
        choice = backend or os.environ.get(BACKEND_ENV, "auto")
        if choice not in ("auto", "file", "keyring"):
            raise CredentialError(f"{BACKEND_ENV} must be 'file' or 'keyring', got {choice!r}")
        self._choice = choice
        self._keyring = keyring
        self._backend: FileBackend | KeyringBackend | None = None

    @property
    def backend(self) -> FileBackend | KeyringBackend:
        if self._backend is None:
            ring = self._keyring
            if ring is None and self._choice != "file":
                ring = system_keyring()
                if ring is None and self._choice == "keyring":
                    raise CredentialError("no usable system keyring (set "
                                          f"{BACKEND_ENV}=file to use the private file)")
            self._backend = (KeyringBackend(ring, self.folder / "secret-names.json") if ring
                             else FileBackend(self.folder / "secrets.json"))
        return self._backend

    def get(self, name: str) -> str | None:
        if not isinstance(name, str) or not NAME_RE.match(name):
            return None
        return self.backend.get(name)

    def has(self, name: str) -> bool:
        return bool(self.get(name))

    def set(self, name: str, value: str) -> None:
        check_name(name)
        if not isinstance(value, str) or not value:
            raise CredentialError(f"the value of {name!r} is empty")
        self.backend.set(name, value)

    def delete(self, name: str) -> bool:
        return self.backend.delete(check_name(name))

    def list(self) -> list[str]:
        return self.backend.names()


# --- validation -----------------------------------------------------------------------------
def secret_problems(workflow: Workflow, registry: Registry,
                    store: CredentialStore) -> list[Problem]:
    """Literal secrets, and every credential the workflow names that is not stored."""
    problems = secret_literal_problems(workflow, registry)
    flagged = {p.node_id for p in problems}
    for node, param, name in secret_params(workflow, registry):
        if node.id in flagged or not isinstance(name, str):
            continue
        if not store.has(name):
            problems.append(Problem(
                f"workflow needs a missing secret {name!r} (parameter {param.name!r}); set it "
                f"with: flowloom secrets set {name}", node_id=node.id))
    return problems


# --- `flowloom secrets` ----------------------------------------------------------------------
VALUE_WARNING = ("flowloom secrets: warning: a value given with --value stays in your shell "
                 "history and is visible to other users in `ps`; next time run "
                 "`flowloom secrets set {name}` and type it at the hidden prompt, or pipe it "
                 "on stdin\n")

def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flowloom secrets",
                                     description="Manage named credentials.")
    sub = parser.add_subparsers(dest="action", required=True)
    put = sub.add_parser("set", help="store a secret: asks for it (hidden) on a terminal, "
                                     "else reads it from stdin")
    put.add_argument("name")
    put.add_argument("--value", help="discouraged: the value lands in your shell history and "
                                     "in `ps`; pipe it on stdin instead")
    sub.add_parser("list", help="list the stored names (never the values)")
    remove = sub.add_parser("delete", help="delete a stored secret")
    remove.add_argument("name")
    return parser


def secrets_main(argv: list[str], *, store: CredentialStore | None = None,
                 stdin: IO[str] | None = None, stdout: IO[str] | None = None,
                 stderr: IO[str] | None = None) -> int:
    """`flowloom secrets set NAME | list | delete NAME`. Returns the exit code.

    `set` reads the value from a hidden prompt on a terminal, else from stdin (one line; the
    line break is dropped). `--value V` still works but warns: a value on the command line is
    kept in shell history and shown to every user by `ps`."""
    stdin, stdout, stderr = stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse already wrote the usage message
        return int(exc.code or 0)
    store = store or CredentialStore()
    try:
        if args.action == "set":
            check_name(args.name)
            value = args.value
            if value is not None:
                stderr.write(VALUE_WARNING.format(name=args.name))
            else:
                if stdin.isatty():
                    value = getpass.getpass(f"Value for {args.name}: ", stream=stderr)
                else:
                    value = stdin.read().rstrip("\r\n")
            store.set(args.name, value)
            stderr.write(f"stored {args.name} in the {store.backend.describe()}\n")
        elif args.action == "list":
            names = store.list()
            for name in names:
                stdout.write(name + "\n")
            if not names:
                stderr.write(f"no secrets stored (in the {store.backend.describe()})\n")
        else:
            if not store.delete(args.name):
                stderr.write(f"flowloom secrets: no secret named {args.name!r}\n")
                return 1
            stderr.write(f"deleted {args.name}\n")
    except CredentialError as exc:
        stderr.write(f"flowloom secrets: {exc}\n")
        return 2
    except Exception as exc:  # a keyring backend failing (locked, D-Bus error, ...)
        stderr.write(f"flowloom secrets: the credential store failed: "
                     f"{type(exc).__name__}: {exc}\n")
        return 2
    return 0
