"""`human.approval`: pauses its branch until a person approves or rejects (other branches go on).

The question goes through `ctx.ask`, i.e. the host's `Services.approver` (a dialog in the
editor, a prompt or `--approve-all`/`--reject-all` in the CLI, a function in tests). With
`autopilot` set, the node decides by itself if nobody answers within `autopilot_after_s`.
The value goes out of `approved` or `rejected`; `decision` always carries
{"approved", "comment", "by"}.
"""

from __future__ import annotations

import asyncio
from typing import Any

from engine import budget
from engine.nodetype import NodeType, Param, Port
from nodes.text import MessageNode

AUTOPILOT = ("off", "approve", "reject")


class Approval(MessageNode):
    type_id = "human.approval"
    title = "Approval"
    category = "Human"
    description = "Waits for a person to approve or reject the value (optionally with a comment)."
    inputs = (Port("in", help="the value to approve"),)
    outputs = (Port("approved", help="the value, if approved"),
               Port("rejected", help="the value, if rejected"),
               Port("decision", "dict", help="{approved, comment, by}"))
    parameters = (
        Param("title", "str", default="Approval needed", help="the question's title"),
        Param("message", "text", default="Approve this?\n\n{{ x }}",
              help="what the person reads; a template over x"),
        Param("autopilot", "str", default="off", choices=AUTOPILOT,
              help="decide automatically when nobody answers in time"),
        Param("autopilot_after_s", "number", default=300.0, minimum=0,
              help="how long to wait for a person before autopilot decides"),
    )
    summary_param = "title"

    @classmethod
    def summary(cls, params: dict[str, Any]) -> str:
        auto = params.get("autopilot", "off")
        title = str(params.get("title") or "")
        return title if auto == "off" else f"{title} (auto-{auto} after " \
                                           f"{params.get('autopilot_after_s')} s)"

    async def run(self, ctx: Any, **inputs: Any) -> dict[str, Any]:
        value = inputs["in"]
        message = await budget.bounded(self.message.render, value)
        title = self.params["title"] or self.node_id
        mode = self.params["autopilot"]
        ctx.progress(None, "waiting for a person to decide")
        if mode != "off" and ctx.services.approver is None:
            # Nobody can be asked in this run, so waiting would only delay autopilot.
            approved, comment, by = mode == "approve", "no one could be asked", "autopilot"
        elif mode == "off":
            decision = await ctx.ask(value, message, title)
            approved, comment, by = decision.approved, decision.comment, decision.by
        else:
            wait = float(self.params["autopilot_after_s"])
            try:
                async with asyncio.timeout(wait):
                    decision = await ctx.ask(value, message, title)
                approved, comment, by = decision.approved, decision.comment, decision.by
            except TimeoutError:
                approved = mode == "approve"
                comment = f"nobody answered within {wait:g} s"
                by = "autopilot"
        verdict = "approved" if approved else "rejected"
        ctx.log("info", f"{verdict} by {by or 'someone'}" + (f": {comment}" if comment else ""))
        return {verdict: value,
                "decision": {"approved": approved, "comment": comment, "by": by}}


TYPES: tuple[type[NodeType], ...] = (Approval,)
