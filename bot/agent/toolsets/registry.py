"""The agent's tools, composed from the toolsets its capabilities allow.

:class:`Toolset` is what the planner and the LLM agent hold: it builds one toolset per
capability from a :class:`Capabilities` object (tests pass doubles), asks each once whether it
can run here, and offers only the tools of those that can. ``call`` validates, runs and
records; a tool of a toolset that cannot run answers ``no_data`` with the reason found when
the registry was built. Nothing here can apply: proposals are reached through
:class:`~bot.agent.ports.Proposals`, which has no approve.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from bot.agent.ports import Cluster, History, NotFoundError, Proposals, Refused
from bot.agent.toolsets._base import AgentTool, BaseToolset, ToolResult, Turn
from bot.agent.toolsets.cluster import ClusterToolset
from bot.agent.toolsets.metrics import MetricsToolset
from bot.agent.toolsets.proposals import ProposalToolset
from bot.agent.toolsets.sizing import SizingToolset
from bot.observability.metrics import AGENT_TOOL_CALLS
from tools.catalog import PeerCatalog
from tools.kube import KubeReadError
from tools.prometheus import NoData, PrometheusError
from tools.sizing.coldstart import ColdStartSettings
from tools.sizing.models import Policy
from tools.sizing.quantities import QuantityError

__all__ = ["Capabilities", "Toolset", "toolsets_for"]


@dataclass
class Capabilities:
    """What the tools may use. Anything left ``None`` turns its toolset off."""

    catalog: Callable[[], PeerCatalog]
    policy: Policy
    coldstart: ColdStartSettings = field(default_factory=ColdStartSettings)
    proposals: Proposals | None = None
    cluster: Cluster | None = None
    history: History | None = None
    # why ``proposals`` is None, when known: said where a proposal would have been stored
    proposals_off: str | None = None


def toolsets_for(caps: Capabilities) -> list[BaseToolset]:
    """One toolset per capability, in the order their tools are offered."""
    return [
        ClusterToolset(caps.cluster, caps.proposals, caps.proposals_off),
        SizingToolset(caps.catalog, caps.policy, caps.coldstart, caps.cluster),
        MetricsToolset(caps.history),
        ProposalToolset(caps.proposals, caps.proposals_off),
    ]


class Toolset:
    """The tools over one :class:`Capabilities`; ``call`` validates, runs and records."""

    def __init__(
        self,
        caps: Capabilities,
        *,
        toolsets: Callable[[Capabilities], Sequence[BaseToolset]] = toolsets_for,
    ) -> None:
        self.toolsets = tuple(toolsets(caps))
        # The tools the model is offered, and why the others cannot run (asked once, here).
        self.tools: dict[str, AgentTool] = {}
        self.disabled: dict[str, str] = {}
        for toolset in self.toolsets:
            reason = toolset.check_prerequisites()
            for tool in toolset.tools():
                if reason is None:
                    self.tools[tool.name] = tool
                else:
                    self.disabled[tool.name] = reason

    def call(self, name: str, raw: Mapping[str, Any], turn: Turn) -> ToolResult:
        params = dict(raw)
        tool = self.tools.get(name)
        known = tool is not None or name in self.disabled
        if not known:
            result = ToolResult(
                status="error",
                error=f"no tool {name!r}; use one of: {', '.join(self.tools)}",
                params=params,
            )
        elif len(turn.calls) >= turn.max_calls:
            result = ToolResult(
                status="error",
                error="tool call budget for this message is spent; answer with what you have",
                params=params,
            )
        elif turn.deadline is not None and turn.clock() > turn.deadline:
            result = ToolResult(
                status="error",
                error="time budget for this message is spent; answer with what you have",
                params=params,
            )
        elif tool is None:
            result = ToolResult(status="no_data", error=self.disabled[name], params=params)
        else:
            result = self._run(tool, params, turn)
        turn.calls.append((name, params, result))
        AGENT_TOOL_CALLS.labels(name if known else "unknown", result.status).inc()
        return result

    def _run(self, tool: AgentTool, params: dict[str, Any], turn: Turn) -> ToolResult:
        try:
            args = tool.args.model_validate(params)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}"
                for e in exc.errors()
            )
            return ToolResult(status="error", error=f"invalid arguments: {problems}", params=params)
        try:
            result = tool.run(args, turn)
        except (NotFoundError, NoData) as exc:
            result = ToolResult(status="no_data", error=str(exc))
        except (Refused, KubeReadError, QuantityError, PrometheusError) as exc:
            result = ToolResult(status="error", error=str(exc))
        except (ValueError, OSError) as exc:
            result = ToolResult(status="error", error=f"{type(exc).__name__}: {exc}")
        return result.model_copy(update={"params": params})
