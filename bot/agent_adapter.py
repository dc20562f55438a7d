"""The agent's view of the application service, and its answers as Slack replies.

This lives outside :mod:`bot.agent` on purpose: the service module imports the executors, and
the agent package must not (an import contract checks it). Here the service is narrowed to the
agent's :class:`~bot.agent.ports.Proposals` port — size, read, why, edit; never approve — and
the agent's :class:`~bot.agent.answer.Answer` is turned into the Slack thread's reply. The
parts themselves are built in :mod:`bot.wiring`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bot.agent.answer import Agent
from bot.agent.ports import NotFoundError, ProposalView, Refused
from bot.approvals.models import Proposal
from bot.executors.base import Progress
from bot.service import NotFound, ProposalService, ServiceError
from bot.slack import blocks
from bot.slack.claims import scrub_claims
from bot.slack.responder import Reply, why_chart
from tools.plain_why import Edit, Numbers, edits_between
from tools.propose import SizeRequest

__all__ = ["CLAIM_NOTE", "AgentResponder", "ServiceProposals", "edits_of", "view_of"]

CLAIM_NOTE = (
    "_(I removed a sentence claiming a change was approved or applied: only an approver's "
    "click on the card does that, and the state below comes from Sizer's records.)_"
)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def edits_of(proposal: Proposal) -> list[Edit]:
    """Who changed which number from what, along the proposal's revisions."""
    return edits_between(
        (r.number, f"<@{r.author}>", Numbers(**r.sizing.model_dump())) for r in proposal.revisions
    )


def view_of(proposal: Proposal, applied: bool = False, trail: tuple[str, ...] = ()) -> ProposalView:
    sizing = proposal.current.sizing
    change = proposal.current.change
    request = proposal.request or {}
    return ProposalView(
        image=_text(request.get("image")),
        language=_text(request.get("language")),
        edits=tuple(edits_of(proposal)),
        proposed=Numbers(**proposal.revisions[0].sizing.model_dump()),
        id=proposal.id,
        workload=proposal.workload,
        namespace=proposal.namespace,
        state=str(proposal.state),
        revision=proposal.revision,
        replicas=sizing.replicas,
        cpu_request=sizing.cpu_request,
        cpu_limit=sizing.cpu_limit,
        memory_request=sizing.memory_request,
        memory_limit=sizing.memory_limit,
        confidence=proposal.confidence,
        reasons=proposal.reasons,
        requester=proposal.requester,
        updated_by=proposal.updated_by,
        applied=applied,
        manifest_yaml=change.manifest_yaml,
        plan_summary=change.plan_summary,
        preflight=change.preflight,
        trail=trail,
    )


class ServiceProposals:
    """:class:`ProposalService` seen through the agent's port; service refusals become text."""

    def __init__(self, service: ProposalService) -> None:
        self._service = service

    def _guard(self, fn: Callable[[], Proposal]) -> Proposal:
        try:
            return fn()
        except NotFound as exc:
            raise NotFoundError(str(exc)) from None
        except ServiceError as exc:
            raise Refused(str(exc)) from None

    def size(
        self, request: SizeRequest, requester: str, channel: str, thread_ts: str
    ) -> ProposalView:
        made = self._guard(lambda: self._service.size(request, requester, channel, thread_ts))
        return view_of(made)

    def get(self, proposal_id: str) -> ProposalView:
        found = self._guard(lambda: self._service.get(proposal_id))
        trail = tuple(
            f"{e.at} {e.from_state} → {e.to_state} by {e.actor}: {e.reason}"
            for e in self._service.trail(found.id)
        )
        return view_of(found, found.state == "applied", trail)

    def why(self, target: str) -> ProposalView:
        try:
            answer = self._service.why(target)
        except NotFound as exc:
            raise NotFoundError(str(exc)) from None
        except ServiceError as exc:
            raise Refused(str(exc)) from None
        return view_of(answer.proposal, answer.applied)

    def edit(self, proposal_id: str, actor: str, changes: Mapping[str, str]) -> ProposalView:
        current = self._guard(lambda: self._service.get(proposal_id))
        sizing = current.current.sizing
        values = {
            "replicas": str(sizing.replicas),
            "cpu_request": sizing.cpu_request,
            "cpu_limit": sizing.cpu_limit or "",
            "memory_request": sizing.memory_request,
            "memory_limit": sizing.memory_limit or "",
        } | dict(changes)
        edited = self._guard(lambda: self._service.edit(current.card_ref(), actor, values))
        return view_of(edited)


class AgentResponder:
    """The Slack :class:`~bot.slack.responder.Responder` backed by the agent or the planner."""

    def __init__(self, agent: Agent, service: ProposalService) -> None:
        self._agent = agent
        self._service = service

    def respond(
        self, text: str, user: str, channel: str, thread_ts: str, progress: Progress
    ) -> Reply:
        answer = self._agent.respond(text, user, channel, thread_ts)
        if answer.new_card is not None:
            proposal = self._service.get(answer.new_card)
            # The card is the answer: the sizes, fit, confidence and state (from the store)
            # are all on it, so nothing above it repeats them, and no model words stand there.
            card = blocks.proposal_card(proposal)
            # What the reading chose on the person's behalf (the peer, the image) is said once.
            notes = [
                n.removeprefix("Note: ") for n in answer.text.splitlines() if n.startswith("Note: ")
            ]
            if notes and len(card) < blocks.MAX_MESSAGE_BLOCKS:
                card.append(blocks.context("\n".join(notes)))
            return Reply(text=blocks.card_text(proposal), blocks=card, new_card=proposal)
        said, cut = scrub_claims(answer.text)
        if cut:
            said = (said + "\n\n" if said else "") + CLAIM_NOTE
        if answer.changed is not None:
            changed = self._service.get(answer.changed)
            said += f"\n\n*State (from Sizer's records):* {blocks.state_line(changed)}"
            return Reply(text=blocks.clip(said, blocks.MAX_FALLBACK), changed=changed)
        text = blocks.clip(said, blocks.MAX_FALLBACK)
        if answer.choices:
            return Reply(text=text, blocks=blocks.choice_blocks(said, answer.choices))
        if answer.explained is not None:
            proposal = self._service.get(answer.explained)
            return Reply(
                text=text,
                image=why_chart(self._service, proposal),
                image_name=f"why-{proposal.workload}.png",
            )
        return Reply(text=text)
