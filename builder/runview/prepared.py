"""What a run needs from its workflow's content alone, kept while that content does not change.

A run started in the editor needs each node's re-run fingerprint (engine/rerun.py), the
history's content hash — the sha256 of the workflow's canonical file text, `dumps` (engine/
history/recorder.py `workflow_hash`) — and, for its record, that text (engine/record/store.py
renders it again after the run unless given it). For a 1 000-node workflow the first two were
~40 ms of Python in a thread at the start of every run, holding the GIL while the canvas
repainted every node pending, so the loop waited for it (`bench/live.py --stalls` found the
run-start repaint waiting while the other thread was in `fileformat._render`). All three depend
on the workflow's content only, so `Prepared` keeps them for the workflow on screen until the
model says it changed: it follows every model topic (`engine.model.TOPICS`, what the document
follows for "modified" and autosave) and any notification makes the kept values stale.
`ahead(workflow)` works them out in a thread while the editor is idle (the window warmed up, a
document was opened), so the first run finds them ready too.

A result is kept only when no notification came while it was worked out (a generation count,
read on the loop before and after), so a value computed from a model being edited meanwhile is
never kept; a run that finds nothing kept prepares from its own snapshot copy, as before.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from typing import Any

from engine.model import TOPICS, Workflow

log = logging.getLogger(__name__)

AHEAD_MAX_NODES = 3_000  # past this, working ahead holds the GIL for long (dumps of 10 000
# nodes: ~1.2 s) while the person may be panning a file just opened: left to the run's start
# (fingerprints by node id, the canonical text, its sha256 — "" when UTF-8 cannot hold it)
Values = tuple[dict[str, str], str, str]


def prepare(workflow: Workflow) -> Values:
    """The fingerprints, canonical text (`dumps`) and content hash of `workflow`."""
    from engine.fileformat import dumps
    from engine.rerun import fingerprints

    prints, text = fingerprints(workflow), dumps(workflow)
    try:
        return prints, text, hashlib.sha256(text.encode("utf-8")).hexdigest()
    except UnicodeEncodeError:  # (a lone surrogate) the recorder meets it too, and says so
        return prints, text, ""


class Prepared:
    """The prepared values of one workflow (the latest one asked about), while unchanged."""

    def __init__(self) -> None:
        self.workflow: Workflow | None = None
        self.generation = 0  # bumped by every notification of the followed workflow
        self._kept: tuple[int, Values] | None = None
        self._unsubscribe: list[Callable[[], None]] = []
        self.ahead_task: asyncio.Future[Any] | None = None

    def follow(self, workflow: Workflow) -> int:
        """Follow `workflow` (dropping what was kept of another); its current generation."""
        if workflow is not self.workflow:
            self.close()
            self.workflow = workflow
            self.generation += 1
            self._unsubscribe = [getattr(workflow, topic).subscribe(self._changed)
                                 for topic in TOPICS]
        return self.generation

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        self.workflow, self._kept = None, None

    def _changed(self, *_args: Any) -> None:
        self.generation += 1
        self._kept = None

    def get(self, workflow: Workflow, generation: int) -> Values | None:
        """The values kept for `workflow` as it was at `generation`, if it has not changed."""
        kept = self._kept
        if workflow is self.workflow and kept is not None and kept[0] == generation \
                == self.generation:
            prints, text, digest = kept[1]
            return dict(prints), text, digest
        return None

    def keep(self, workflow: Workflow, generation: int, values: Values) -> None:
        """Keep `values`, worked out from `workflow` as it was at `generation` (ignored when
        it changed since)."""
        if workflow is self.workflow and generation == self.generation:
            self._kept = (generation, (dict(values[0]), values[1], values[2]))

    def ahead(self, workflow: Workflow) -> asyncio.Future[Any] | None:
        """Work the values out in a thread now (the editor is idle), unless they are kept or
        being worked out; the model is read as it is, and the result kept only if no
        notification came meanwhile (the loop thread is the only one that edits it). Not for
        a workflow over AHEAD_MAX_NODES."""
        generation = self.follow(workflow)
        if self._kept is not None and self._kept[0] == generation \
                or len(workflow.nodes) > AHEAD_MAX_NODES:
            return None
        if self.ahead_task is not None and not self.ahead_task.done():
            return self.ahead_task
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return None  # no loop running (a widget test without qasync): runs prepare then

        async def work() -> None:
            try:
                values = await asyncio.to_thread(prepare, workflow)
            except Exception as exc:  # an edit raced it (a dict changed size): not kept
                log.debug("preparing ahead did not finish: %s", exc)
                return
            self.keep(workflow, generation, values)

        self.ahead_task = asyncio.ensure_future(work())
        return self.ahead_task
