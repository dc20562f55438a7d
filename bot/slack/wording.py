"""What Sizer says in Slack about refusals, applies and their outcomes.

The service reports facts (states, results, who acted); the sentences people read, with their
``<@U…>`` mentions and ``/sizer`` hints, are written here. An outcome line is built only from
the stored proposal and its :class:`~bot.executors.base.ApplyResult`, never from model text.
"""

from __future__ import annotations

from typing import Any

from bot.approvals.models import Proposal, ProposalState
from bot.executors.base import ApplyResult
from bot.service import ServiceError, StaleCard, Unrecorded

__all__ = [
    "RETRY",
    "STEP_TITLES",
    "crash_text",
    "edited_text",
    "next_step",
    "outcome_text",
    "refusal",
    "step_title",
]

S = ProposalState
RETRY = "sizer_retry_more_memory"

# The apply's steps as people read them (the executor names them in ``ApplyStep.name``).
STEP_TITLES = {
    "render": "Check the manifest is exactly what the card showed",
    "validate": "Validate against the Kubernetes schemas",
    "preflight": "Check it fits the namespace quota and the nodes",
    "terraform": "Apply the saved Terraform plan",
    "dry-run": "Server-side dry run",
    "apply": "Apply to the cluster",
    "rollout": "Wait for the rollout",
    "rollback": "Roll back",
    "lock": "Hold the workload's apply lock",
    "kubernetes": "Apply to the cluster",
}


def step_title(name: str) -> str:
    return STEP_TITLES.get(name, name)


def refusal(exc: ServiceError) -> str:
    """A service refusal as the person who clicked or asked reads it."""
    if isinstance(exc, Unrecorded):
        return unrecorded_text(exc)
    text = str(exc)
    if isinstance(exc, StaleCard) and exc.by and exc.by != "sizer":
        text += f" (by <@{exc.by}>)"
    return text


def edited_text(proposal: Proposal) -> str:
    rev = proposal.current
    return f"Revision {rev.number}: {rev.note}"


def _left_in_place(result: ApplyResult) -> str:
    """What the failed apply changed before it stopped, from its recorded steps."""
    done = {s.name for s in result.steps if s.ok}
    if "apply" in done or "kubernetes" in done:
        return ""
    if "terraform" in done:
        return " Kubernetes objects were not changed; the Terraform changes stay in place."
    return " Nothing was changed in the cluster."


def outcome_text(proposal: Proposal) -> str:
    """The final line of an apply: exactly what the store and the executor's result say."""
    rev = f"revision {proposal.revision} of `{proposal.key}`"
    result = proposal.result
    if proposal.state == S.APPLIED:
        steps = result.steps if result else []
        rollout = next((s.detail for s in steps if s.name == "rollout"), "")
        return f":white_check_mark: Applied {rev}" + (f" — {rollout}." if rollout else ".")
    if result is None:
        return f":warning: {rev} is {proposal.state.replace('_', ' ')}."
    error = result.error or "no detail recorded"
    if proposal.state == S.ROLLED_BACK:
        return f":leftwards_arrow_with_hook: Rolled back {rev}: {error}"
    if proposal.state == S.FAILED:
        step = step_title(result.failed_step) if result.failed_step else "the apply"
        return f":x: Failed at “{step}” for {rev}: {error}.{_left_in_place(result)}"
    return f":warning: {rev} is {proposal.state.replace('_', ' ')}: {error}"


def unrecorded_text(exc: Unrecorded) -> str:
    proposal = exc.proposal
    if exc.outcome is None:
        return (
            f":warning: I could not record the approval of `{proposal.id}` ({exc}). Nothing was "
            "applied; approve again once I can reach my store."
        )
    result = exc.result
    error = (result.error if result else None) or "no detail"
    if exc.outcome == S.APPLIED:
        happened = "the cluster accepted the change and the rollout finished"
    elif exc.outcome == S.ROLLED_BACK:
        happened = f"the apply failed and was rolled back ({error})"
    else:
        happened = f"the apply failed ({error})"
    return (
        f":warning: Revision {proposal.revision} of `{proposal.key}` (`{proposal.id}`): "
        f"{happened}, but I could not record it, so it still shows as applying. I will report "
        f"it as interrupted when my store answers; an approver then runs "
        f"`/sizer resolve {proposal.id} {exc.outcome.value}`."
    )


def crash_text(ref: str, proposal: Proposal | None) -> str:
    """After an unexpected error: only what the store says, never a guess."""
    head = f"Something went wrong on my side (ref {ref}); the team can find it in the bot's log."
    if proposal is None:
        return head
    state = proposal.state.replace("_", " ")
    if proposal.state in (S.APPROVED, S.APPLYING):
        return (
            f"{head} `{proposal.id}` is still {state}: its outcome is not known yet. "
            f"`/sizer status {proposal.id}` shows what is recorded."
        )
    return f"{head} `{proposal.id}` is {state}: `/sizer status {proposal.id}` has the details."


def next_step(proposal: Proposal) -> tuple[str, list[dict[str, Any]]] | None:
    """After an apply that ended in an OOM kill: the text and a button to retry with more memory."""
    result = proposal.result
    if proposal.state not in (S.ROLLED_BACK, S.FAILED) or result is None:
        return None
    if "OOMKilled" not in (result.error or ""):
        return None
    text = (
        f"Next step for `{proposal.key}`: the pods ran out of memory at "
        f"{proposal.current.sizing.memory_limit or proposal.current.sizing.memory_request}. "
        "Raise the memory limit by half and propose it again (it needs approval like any change)."
    )
    button: dict[str, Any] = {
        "type": "button",
        "action_id": RETRY,
        "style": "primary",
        "text": {"type": "plain_text", "text": "Raise memory and retry", "emoji": True},
        "value": proposal.id,
    }
    message: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {"type": "actions", "block_id": "sizer_next_step", "elements": [button]},
    ]
    return text, message
