"""Secret parameters: telling a credential *name* from a secret pasted where a name belongs.

A secret parameter (`Param(secret=True)`) holds only the name of a credential; the value lives
in the credential store (nodes/credentials.py). `literal_reason` says why a value looks like
the secret itself; `secret_literal_problems` finds such values in a workflow (what the editor
and `engine.fileformat.save` refuse to write); `without_literal_secrets` blanks them in a copy
(what autosave and recovery files hold). Without a registry, a parameter counts as secret when
its name is `secret` or ends in `_secret`, as every built-in one does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from engine.errors import Problem, RegistryError
from engine.model import Workflow

NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
# Prefixes of well-known key formats: a value starting so is a key pasted by mistake.
KEY_PREFIXES = ("sk-", "sk_", "ghp_", "gho_", "github_pat_", "xoxb-", "xoxp-", "AKIA", "AIza",
                "glpat-")


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


def _named_secret(name: str) -> bool:
    return name == "secret" or name.endswith("_secret")


def secret_params(workflow: Workflow, registry: Any = None) -> Iterator[tuple[Any, Any, Any]]:
    """(node, secret parameter, value) for every secret parameter that holds a value; the
    parameter is the registry's `Param`, or just its name without a registry."""
    for node in workflow.nodes.values():
        if registry is not None:
            try:
                node_type = registry.get(node.type)
            except RegistryError:
                continue
            for param in node_type.parameters:
                if param.secret:
                    value = node.params.get(param.name, param.default)
                    if value not in (None, ""):
                        yield node, param, value
        else:
            for name, value in node.params.items():
                if _named_secret(name) and value not in (None, ""):
                    yield node, name, value


def _is_literal(value: Any) -> str | None:
    return literal_reason(value) if isinstance(value, str) else "it is not text"


def secret_literal_problems(workflow: Workflow, registry: Any = None) -> list[Problem]:
    """A problem for each secret parameter holding what looks like a secret, not a name."""
    problems = []
    for node, param, value in secret_params(workflow, registry):
        reason = _is_literal(value)
        if reason:
            name = param if isinstance(param, str) else param.name
            problems.append(Problem(
                f"parameter {name!r} must hold a credential name, not the secret itself "
                f"({reason}); store the value with `flowloom secrets set NAME` and put NAME "
                f"here", node_id=node.id))
    return problems


def without_literal_secrets(workflow: Workflow, registry: Any = None) -> Workflow:
    """`workflow`, or a copy of it with every literal secret emptied (nothing else changes)."""
    blank: dict[str, list[str]] = {}
    for node, param, value in secret_params(workflow, registry):
        if _is_literal(value):
            blank.setdefault(node.id, []).append(param if isinstance(param, str) else param.name)
    if not blank:
        return workflow
    copy = workflow.copy()  # a deep copy: its params are its own
    for node_id, names in blank.items():
        copy.nodes[node_id].params.update(dict.fromkeys(names, ""))
    return copy
