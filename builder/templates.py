"""The template index: the `.loom.json` files in `resources/templates/` and their metadata.

Qt-free (the gallery dialog in builder/gallery.py shows it). Each template file carries a
top-level `"template"` block: title, description, tags, difficulty, preview (a PNG beside the
file) and needs (`"llm"`, `"network"`). Files are read only through `engine.fileformat`; a file
that cannot be read is left out of the index with a logged warning.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from engine.errors import WorkflowFileError
from engine.fileformat import SUFFIX, load
from engine.model import Workflow
from engine.suggest import Document, rank

log = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "resources" / "templates"
DIFFICULTIES = ("beginner", "intermediate", "advanced")
FIRST_TEMPLATE = "hello"  # what the editor opens on its first start
NEEDS_TEXT = {
    "llm": "Needs an LLM: set OPENAI_BASE_URL / OLLAMA_HOST or a credential "
           "(flowloom secrets), or the node's base_url",
    "network": "Needs network access",
}


@dataclass(frozen=True)
class Template:
    """A workflow template of the gallery: its file and how the gallery shows it."""

    slug: str  # the file name without .loom.json
    path: Path
    title: str
    description: str
    tags: tuple[str, ...] = ()
    difficulty: str = "beginner"
    preview: Path | None = None  # None when the image is missing
    needs: tuple[str, ...] = ()
    node_titles: tuple[str, ...] = ()  # what the nodes are called, for suggestions

    def matches(self, text: str = "", tag: str = "", difficulty: str = "") -> bool:
        """Search text (every word in the title, description or tags), tag and difficulty."""
        if tag and tag not in self.tags:
            return False
        if difficulty and difficulty != self.difficulty:
            return False
        haystack = " ".join((self.title, self.description, *self.tags)).lower()
        return all(word in haystack for word in text.lower().split())

    def needs_text(self) -> list[str]:
        return [NEEDS_TEXT.get(need, f"Needs {need}") for need in self.needs]

    def workflow(self) -> Workflow:
        """A fresh copy of the template's workflow (raises WorkflowFileError)."""
        return load(self.path).workflow


def _strings(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(str(v) for v in value if isinstance(v, (str, int, float)))
    return ()


def read_template(path: Path) -> Template:
    """One template's metadata (raises WorkflowFileError if the file cannot be read)."""
    workflow = load(path).workflow
    meta = workflow.extra.get("template")
    meta = meta if isinstance(meta, dict) else {}
    slug = path.name[:-len(SUFFIX)] if path.name.endswith(SUFFIX) else path.stem
    difficulty = str(meta.get("difficulty") or "beginner")
    if difficulty not in DIFFICULTIES:
        log.warning("%s: unknown difficulty %r", path, difficulty)
    preview = meta.get("preview")
    preview_path = path.parent / preview if isinstance(preview, str) and preview else None
    if preview_path is not None and not preview_path.is_file():
        preview_path = None
    return Template(slug=slug, path=path,
                    title=str(meta.get("title") or workflow.name or slug),
                    description=str(meta.get("description") or workflow.description),
                    tags=_strings(meta.get("tags")), difficulty=difficulty,
                    preview=preview_path, needs=_strings(meta.get("needs")),
                    node_titles=tuple(n.title for n in workflow.nodes.values() if n.title))


def find_templates(folder: Path | None = None) -> list[Template]:
    """Every readable template in `folder`, easiest first, then by title."""
    folder = folder or TEMPLATES_DIR
    found = []
    for path in sorted(folder.glob(f"*{SUFFIX}")):
        try:
            found.append(read_template(path))
        except WorkflowFileError as exc:
            log.warning("template left out: %s", exc)
    rank = {d: i for i, d in enumerate(DIFFICULTIES)}
    return sorted(found, key=lambda t: (t.slug != FIRST_TEMPLATE,
                                        rank.get(t.difficulty, len(rank)), t.title.lower()))


def suggest(goal: str, templates: list[Template]) -> list[tuple[Template, float]]:
    """The templates that fit `goal`, best first, with their BM25 scores (engine/suggest.py)."""
    by_slug = {t.slug: t for t in templates}
    ranked = rank(goal, [Document(t.slug, t.title, t.description, t.tags, t.node_titles)
                         for t in templates])
    return [(by_slug[s.key], s.score) for s in ranked]


def all_tags(templates: list[Template]) -> list[str]:
    return sorted({tag for t in templates for tag in t.tags})
