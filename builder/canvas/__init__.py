"""The node-graph canvas of the editor: `from builder.canvas import Canvas`."""

from __future__ import annotations

from builder.canvas.drop_gesture import NODE_TYPE_MIME
from builder.canvas.view import Canvas

__all__ = ["Canvas", "NODE_TYPE_MIME"]
