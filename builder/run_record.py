"""The record of a run started in the editor (engine/record/): what the RunController asks of
it — `services(s)` before the Run is made, `attach(run)`, `finish(run, store)` after the history
row is written (called off the loop) — and, for a re-run reusing an earlier run, `reuse`.

Qt-free. A replay brings a RecordSource (every effect served from the record, recorded
decisions for approvals, a placeholder for every credential); a reuse run brings the plan's
source (unchanged requests served) and its `reuse` map.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from engine.context import Services

log = logging.getLogger(__name__)


class EditorRecording:
    def __init__(self, source: Any = None, *, replay_of: str | None = None,
                 reuse: dict[str, dict[str, Any]] | None = None) -> None:
        from engine.record.store import Policy
        from engine.record.tap import RunTap

        self.policy = Policy.from_settings()
        self.tap = RunTap(max_run_bytes=self.policy.max_run_bytes, source=source)
        self.source = source
        self.replay_of = replay_of
        self.reuse = reuse
        self.written: Any = None

    def services(self, services: Services) -> Services:
        if self.replay_of is not None:
            from engine.record.serve import masked_secret

            services = replace(services, secrets=masked_secret, approver=self.source.approve)
        return self.tap.services(services)

    def attach(self, run: Any) -> None:
        self.tap.attach(run)

    def finish(self, run: Any, store: Any, workflow_text: str | None = None) -> None:
        """Write the record; `workflow_text`: the run's workflow rendered by `dumps` already
        (None: write_record renders it)."""
        from engine.record.store import write_record

        self.tap.detach()
        try:
            self.written = write_record(store, run, self.tap, policy=self.policy,
                                        replay_of=self.replay_of, workflow_text=workflow_text)
        except Exception as exc:  # a record is never a reason to fail the run
            log.warning("the record of run %s was not kept: %s", run.run_id, exc)
