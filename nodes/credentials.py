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
import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import platformdirs

from engine.errors import FlowloomError, Problem, RegistryError
from engine.model import Node, Workflow
from engine.nodetype import Param
from engine.registry import Registry

log = logging.getLogger(__name__)

CONFIG_DIR_ENV = "FLOWLOOM_CONFIG_DIR"
BACKEND_ENV = "FLOWLOOM_SECRETS_BACKEND"
SERVICE = "flowloom"
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
# Prefixes of well-known key formats: a value starting so is a key pasted by mistake.
KEY_PREFIXES = ("sk-", "sk_", "ghp_", "gho_", "github_pat_", "xoxb-", "xoxp-", "AKIA", "AIza",
                "glpat-")


class CredentialError(FlowloomError):
    """A credential cannot be stored or read (bad name, unusable keyring, unreadable file)."""


def config_dir() -> Path:
    override = os.environ.get(CONFIG_DIR_ENV)
    return Path(override).expanduser() if override else Path(
        platformdirs.user_config_dir("flowloom"))


def literal_reason(value: str) -> str | None:
    """Why `value` looks like a secret itself rather than a credential name, or None."""
    if any(ch.isspace() for ch in value):
        return "it contains whitespace"
    if len(value) > 64:
        return "it is longer than 64 characters"
    if value.startswith(KEY_PREFIXES):
        return "it starts like an API key"
    if not NAME_RE.match(value):
        return "names use only letters, digits, '_', '-' and '.'"
    return None


def check_name(name: str) -> str:
    """`name` if it is a valid credential name, else CredentialError saying why."""
    reason = literal_reason(name) if isinstance(name, str) else "it is not text"
    if reason:
        raise CredentialError(f"{name!r:.20} is not a valid credential name: {reason} "
                              f"(letters, digits, '_', '-', '.'; at most 64 characters)")
    return name


# --- backends -------------------------------------------------------------------------------
def _write_private(path: Path, data: dict[str, Any]) -> None:
    """Atomically write JSON readable only by the user."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.chmod(tmp, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


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
def secret_params(workflow: Workflow, registry: Registry) -> Iterator[tuple[Node, Param, Any]]:
    """(node, secret param, value) for every secret parameter that holds a value."""
    for node in workflow.nodes.values():
        try:
            node_type = registry.get(node.type)
        except RegistryError:
            continue
        for param in node_type.parameters:
            if param.secret:
                value = node.params.get(param.name, param.default)
                if value not in (None, ""):
                    yield node, param, value


def secret_literal_problems(workflow: Workflow, registry: Registry) -> list[Problem]:
    """A problem for each secret parameter holding what looks like a secret, not a name."""
    problems = []
    for node, param, value in secret_params(workflow, registry):
        reason = literal_reason(value) if isinstance(value, str) else "it is not text"
        if reason:
            problems.append(Problem(
                f"parameter {param.name!r} must hold a credential name, not the secret itself "
                f"({reason}); store the value with `flowloom secrets set NAME` and put NAME "
                f"here", node_id=node.id))
    return problems


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
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flowloom secrets",
                                     description="Manage named credentials.")
    sub = parser.add_subparsers(dest="action", required=True)
    put = sub.add_parser("set", help="store a secret (value from --value, stdin or a prompt)")
    put.add_argument("name")
    put.add_argument("--value", help="the value (beware: shell history); default: ask")
    sub.add_parser("list", help="list the stored names (never the values)")
    remove = sub.add_parser("delete", help="delete a stored secret")
    remove.add_argument("name")
    return parser


def secrets_main(argv: list[str], *, store: CredentialStore | None = None,
                 stdin: IO[str] | None = None, stdout: IO[str] | None = None,
                 stderr: IO[str] | None = None) -> int:
    """`flowloom secrets set NAME [--value V] | list | delete NAME`. Returns the exit code."""
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
            if value is None:
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
