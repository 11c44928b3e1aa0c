"""`flowloom templates [--suggest GOAL] [--json]` and `flowloom plan GOAL -o FILE`.

    flowloom templates [--suggest "GOAL"] [--json]
    flowloom plan "GOAL" -o FILE [--provider P] [--base-url URL] [--model M]
                                 [--api-key-secret NAME]

`templates` lists the shipped templates (resources/templates), or with --suggest ranks the ones
that fit a goal (BM25 through SQLite FTS5, engine/suggest.py), best first. `plan` asks an LLM for
a workflow (nodes/planner.py), starting from the best-matching template, and writes it to FILE
only when the engine accepts it. Exit codes: 0 done, 1 no valid draft (the remaining problems
are printed), 2 bad usage.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from builder.templates import Template, find_templates, suggest
from nodes.planner import StartingPoint

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


def _say(text: str) -> None:
    print(text, file=sys.stderr)


def add_commands(subparsers: Any) -> None:
    """Register `templates` and `plan` on the `flowloom` subparsers."""
    templates = subparsers.add_parser("templates", help="list the templates, or suggest some "
                                                        "for a goal")
    templates.add_argument("--suggest", metavar="GOAL", default=None,
                           help="rank the templates for this goal, best first")
    templates.add_argument("--json", action="store_true", help="print one JSON list")
    templates.set_defaults(func=templates_main)
    plan = subparsers.add_parser("plan", help="draft a workflow from a goal with an LLM")
    plan.add_argument("goal", metavar="GOAL")
    plan.add_argument("-o", "--output", metavar="FILE", required=True,
                      help="where to write the draft (only when it validates)")
    plan.add_argument("--provider", choices=("openai", "ollama"), default="openai")
    plan.add_argument("--base-url", default="", metavar="URL",
                      help="the LLM server (default: OPENAI_BASE_URL / OLLAMA_HOST)")
    plan.add_argument("--model", default="", metavar="M", help="the model to ask")
    plan.add_argument("--api-key-secret", default="", metavar="NAME",
                      help="the credential holding the API key (flowloom secrets)")
    plan.set_defaults(func=plan_main)


def starting_point(goal: str, templates: list[Template] | None = None) -> StartingPoint | None:
    """The best-matching template for `goal` as the planner's starting point, or None."""
    ranked = suggest(goal, find_templates() if templates is None else templates)
    if not ranked:
        return None
    best = ranked[0][0]
    try:
        return StartingPoint(best.title, best.path.read_text(encoding="utf-8"))
    except OSError:
        return None


def _template_json(template: Template, score: float | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"slug": template.slug, "title": template.title,
                             "description": template.description, "tags": list(template.tags),
                             "difficulty": template.difficulty, "path": str(template.path)}
    if score is not None:
        entry["score"] = round(score, 4)
    return entry


def templates_main(args: argparse.Namespace) -> int:
    templates = find_templates()
    if args.suggest is not None:
        ranked: list[tuple[Template, float | None]] = list(suggest(args.suggest, templates))
    else:
        ranked = [(t, None) for t in templates]
    if args.json:
        print(json.dumps([_template_json(t, s) for t, s in ranked], indent=2,
                         ensure_ascii=False))
        return EXIT_OK
    if not ranked:
        _say(f"flowloom: no template matches {args.suggest!r}")
        return EXIT_OK
    width = max(len(t.slug) for t, _ in ranked)
    for template, score in ranked:
        shown = "" if score is None else f"{score:6.2f}  "
        print(f"{shown}{template.slug:<{width}}  {template.title} — {template.description}")
    return EXIT_OK


def plan_main(args: argparse.Namespace) -> int:
    # Imported here: `flowloom templates` stays light.
    from engine.errors import WorkflowFileError
    from nodes import default_registry
    from nodes.credentials import CredentialStore
    from nodes.planner import LLMSettings, PlanFailed, plan_workflow

    if not args.goal.strip():
        _say("flowloom plan: the goal is empty; say what the workflow should do")
        return EXIT_INVALID
    if not args.model.strip():
        _say("flowloom plan: give the model to ask with --model (e.g. --model llama3.2)")
        return EXIT_INVALID
    registry = default_registry()
    settings = LLMSettings(provider=args.provider, base_url=args.base_url, model=args.model,
                           api_key_secret=args.api_key_secret)
    start = starting_point(args.goal)
    if start is not None:
        _say(f"flowloom plan: starting from the template {start.title}")
    try:
        result = asyncio.run(plan_workflow(args.goal, registry, settings, start=start,
                                           secrets=CredentialStore().get,
                                           on_round=lambda n, p: _say(
                                               f"flowloom plan: draft {n} has "
                                               f"{len(p)} problem{'s' * (len(p) != 1)}; "
                                               "asking for a repair")))
    except PlanFailed as exc:
        _say(f"flowloom plan: {exc}")
        for problem in exc.problems:
            _say(f"  {problem}")
        return EXIT_FAILED
    from engine.fileformat import save
    try:
        save(result.workflow, Path(args.output), registry)
    except (WorkflowFileError, OSError) as exc:
        _say(f"flowloom plan: cannot write {args.output}: {exc}")
        return EXIT_FAILED
    _say(f"flowloom plan: wrote {args.output} after {result.rounds} "
         f"draft{'s' * (result.rounds != 1)}")
    print(result.explanation)
    return EXIT_OK
