"""The proposal toolset: explain, preview, submit, edit and follow proposals.

Needs the proposal service, reached through :class:`~bot.agent.ports.Proposals`, which has no
approve: a submitted or edited proposal always waits for a person's click on its card.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from bot.agent.fence import redact
from bot.agent.payloads import ProposalPayload
from bot.agent.ports import NotFoundError, Proposals, ProposalView
from bot.agent.toolsets._base import PROPOSAL_ID, AgentTool, Args, BaseToolset, ToolResult, Turn
from bot.agent.toolsets.stated import unstated_load
from tools.propose import SizeRequest

__all__ = [
    "NO_PROPOSALS",
    "EditArgs",
    "ProposalArgs",
    "ProposalToolset",
    "TargetArgs",
    "no_proposals",
    "proposal_data",
]

NO_PROPOSALS = "proposals cannot be stored here (no proposal service is configured)"


def no_proposals(why: str | None) -> str:
    """Why a proposal cannot be stored: the reason the service is off, when it is known."""
    return f"proposals cannot be stored here ({why})" if why else NO_PROPOSALS


_NUMBERS = ("cpu_request", "cpu_limit", "memory_request", "memory_limit")


class TargetArgs(Args):
    target: str = Field(
        max_length=130,
        pattern=r"^(p-[0-9a-f]{8}|([a-z0-9]([-a-z0-9]*[a-z0-9])?/)?[a-z0-9]([-a-z0-9]*[a-z0-9])?)$",
        description="a proposal ID (p-1a2b3c4d), WORKLOAD or NAMESPACE/WORKLOAD",
    )


class ProposalArgs(Args):
    proposal_id: str = Field(pattern=PROPOSAL_ID, description="e.g. p-1a2b3c4d")


class EditArgs(Args):
    proposal_id: str = Field(pattern=PROPOSAL_ID)
    replicas: int | None = Field(None, ge=1, le=1000)
    cpu_request: str | None = Field(None, max_length=16)
    cpu_limit: str | None = Field(None, max_length=16, description="'none' removes the limit")
    memory_request: str | None = Field(None, max_length=16)
    memory_limit: str | None = Field(None, max_length=16, description="'none' removes it")


def proposal_data(p: ProposalView, *, detail: bool = False, **more: Any) -> ProposalPayload:
    proposed = p.proposed if p.edits else None
    return ProposalPayload(
        proposal_id=p.id,
        workload=p.workload,
        namespace=p.namespace,
        state=p.state,
        revision=p.revision,
        replicas=p.replicas,
        cpu_request=p.cpu_request,
        cpu_limit=p.cpu_limit,
        memory_request=p.memory_request,
        memory_limit=p.memory_limit,
        confidence=round(p.confidence, 2),
        image=p.image,
        language=p.language,
        does_not_fit=p.preflight or None,
        reasons=p.reasons if detail else None,
        edits=p.edits or None,
        proposed=proposed,
        **more,
    )


class ProposalToolset(BaseToolset):
    """Creates and revises proposals; approving, rejecting and applying are not here."""

    name: ClassVar[str] = "proposals"

    def __init__(self, proposals: Proposals | None, why_off: str | None = None) -> None:
        self._service = proposals
        self._off = no_proposals(why_off)

    def check_prerequisites(self) -> str | None:
        return self._off if self._service is None else None

    def tools(self) -> list[AgentTool]:
        return [
            AgentTool(
                "explain",
                "The stored reasons behind a proposal or a workload's latest proposal.",
                TargetArgs,
                self.explain,
            ),
            AgentTool(
                "render_proposal",
                "The manifest and Terraform plan summary a proposal would apply (preview).",
                ProposalArgs,
                self.render_proposal,
            ),
            AgentTool(
                "submit_proposal",
                "Size a new service and post its proposal card for a person to approve.",
                SizeRequest,
                self.submit_proposal,
            ),
            AgentTool(
                "edit_proposal",
                "Change a proposal's numbers (a new revision, approval still needed).",
                EditArgs,
                self.edit_proposal,
            ),
            AgentTool(
                "proposal_status",
                "A proposal's state, revision and history of who did what.",
                ProposalArgs,
                self.proposal_status,
            ),
        ]

    def _desk(self) -> Proposals:
        if self._service is None:
            raise NotFoundError(self._off)
        return self._service

    def explain(self, args: TargetArgs, turn: Turn) -> ToolResult:
        p = self._desk().why(args.target)
        return ToolResult(status="ok", data=proposal_data(p, detail=True, applied=p.applied))

    def render_proposal(self, args: ProposalArgs, turn: Turn) -> ToolResult:
        p = self._desk().get(args.proposal_id)
        data = proposal_data(
            p, manifest_yaml=redact(p.manifest_yaml), plan_summary=redact(p.plan_summary)
        )
        return ToolResult(status="ok", data=data)

    def submit_proposal(self, args: SizeRequest, turn: Turn) -> ToolResult:
        unsaid = unstated_load(args, turn)
        if unsaid:
            return ToolResult(status="error", error=unsaid)
        p = self._desk().size(args, turn.user, turn.channel, turn.thread_ts)
        turn.new_card = p.id
        return ToolResult(
            status="approval_required",
            data=proposal_data(
                p,
                detail=True,
                next="a card with Approve / Edit / Reject was posted; a person must approve",
            ),
        )

    def edit_proposal(self, args: EditArgs, turn: Turn) -> ToolResult:
        changes: dict[str, str] = {}
        if args.replicas is not None:
            changes["replicas"] = str(args.replicas)
        for name in _NUMBERS:
            value = getattr(args, name)
            if value is not None:
                changes[name] = "" if value.strip().lower() == "none" else value.strip()
        if not changes:
            return ToolResult(status="error", error="give at least one value to change")
        p = self._desk().edit(args.proposal_id, turn.user, changes)
        turn.changed = p.id
        return ToolResult(
            status="approval_required",
            data=proposal_data(p, next="the card now shows this revision; approve it there"),
        )

    def proposal_status(self, args: ProposalArgs, turn: Turn) -> ToolResult:
        p = self._desk().get(args.proposal_id)
        data = proposal_data(p, requester=p.requester, history=p.trail)
        return ToolResult(status="ok", data=data)
