"""The agent's tools, one toolset per capability: the cluster, sizing, metrics, proposals.

Each toolset (:mod:`~bot.agent.toolsets.cluster`, :mod:`~bot.agent.toolsets.sizing`,
:mod:`~bot.agent.toolsets.metrics`, :mod:`~bot.agent.toolsets.proposals`) says what it needs;
:class:`Toolset` composes those that can run here from a :class:`Capabilities` object.
"""

from bot.agent.toolsets._base import AgentTool, BaseToolset, ToolResult, Turn
from bot.agent.toolsets.registry import Capabilities, Toolset, toolsets_for

__all__ = [
    "AgentTool",
    "BaseToolset",
    "Capabilities",
    "ToolResult",
    "Toolset",
    "Turn",
    "toolsets_for",
]
