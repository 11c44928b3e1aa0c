"""What a plugin author imports: the node-type API in one place.

    from nodes.api import NodeType, Port, Param

    class Shout(NodeType):
        type_id = "demo.shout"
        title = "Shout"
        inputs = (Port("text", "str"),)
        outputs = (Port("out", "str"),)

        async def run(self, ctx, text):
            return {"out": text.upper() + "!"}

`ctx` is an `engine.context.NodeContext` (progress, log, http, secret, to_thread, ask); raise
`NodeFailure("what went wrong")` to fail the node with a clean message.
"""

from __future__ import annotations

from engine.context import ApprovalRequest, Decision, NodeContext, Services
from engine.errors import NodeFailure, Problem
from engine.nodetype import NodeSpec, NodeType, Param, Port
from engine.porttypes import PARAM_TYPES, PORT_TYPES
from engine.registry import Registry

__all__ = [
    "PARAM_TYPES", "PORT_TYPES", "ApprovalRequest", "Decision", "NodeContext", "NodeFailure",
    "NodeSpec", "NodeType", "Param", "Port", "Problem", "Registry", "Services",
]
