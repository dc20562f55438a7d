"""What the sizing and proposal tools return: typed models, turned into JSON only at the edge
(:meth:`~bot.agent.tools.ToolResult.text`, the tool message the model reads). The planner reads
their fields; a renamed field is a type error, not a silently missing key."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from tools.plain_why import Edit, Numbers
from tools.sizing.models import Reason

__all__ = ["MatchPayload", "ProposalPayload", "SizedPayload"]


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True)


class _Sized(_Payload):
    workload: str
    replicas: int
    cpu_request: str
    cpu_limit: str | None
    memory_request: str
    memory_limit: str | None
    confidence: float

    def numbers(self) -> Numbers:
        return Numbers(
            self.replicas, self.cpu_request, self.cpu_limit, self.memory_request, self.memory_limit
        )


class SizedPayload(_Sized):
    """A size worked out but not stored (``recommend``)."""

    reasons: tuple[Reason, ...] = ()
    notes: tuple[str, ...] = ()
    stored: bool = False


class ProposalPayload(_Sized):
    """A stored proposal as the tools show it; detail fields only where the tool adds them."""

    proposal_id: str
    namespace: str
    state: str
    revision: int
    image: str | None = None
    language: str | None = None
    does_not_fit: tuple[str, ...] | None = None
    reasons: tuple[Reason, ...] | None = None
    edits: tuple[Edit, ...] | None = None
    proposed: Numbers | None = None
    applied: bool | None = None
    manifest_yaml: str | None = None
    plan_summary: str | None = None
    requester: str | None = None
    history: tuple[str, ...] | None = None
    next: str | None = None


class MatchPayload(_Payload):
    """Which known service a loosely named one is, or the choices when it is ambiguous."""

    query: str
    name: str | None
    choices: tuple[str, ...] = ()
