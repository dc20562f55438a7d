"""Block Kit renderers: pure functions from stored proposals to Slack payloads.

The card lives in :mod:`bot.slack.card`, App Home in :mod:`bot.slack.home` and the
limit-aware primitives in :mod:`bot.slack.kit`; this module gathers them with the smaller
replies (why, status, the edit form) so listeners import one name.
"""

from __future__ import annotations

import re
from typing import Any

from bot.approvals.audit import AuditEntry
from bot.approvals.models import Proposal, ProposalState, Sizing
from bot.service import WhyAnswer
from bot.slack.card import (
    APPROVE,
    EDIT,
    FIT,
    REJECT,
    STATE_TITLES,
    VIEW_MANIFEST,
    VIEW_PLAN,
    artifact_view,
    card_text,
    gitops_line,
    proposal_card,
    state_line,
)
from bot.slack.confidence import confidence_word
from bot.slack.home import home_view
from bot.slack.kit import (
    MAX_FALLBACK,
    MAX_HEADER,
    MAX_MESSAGE_BLOCKS,
    MAX_SECTION,
    MAX_VIEW_BLOCKS,
    Block,
    clip,
    context,
    escape,
    header,
    section,
)
from bot.slack.kit import text as _text
from bot.slack.reject import REASON, REJECT_VIEW, RejectForm, reject_modal
from tools.plain_why import Numbers, edits_between, plain_why
from tools.sizing.models import Reason

__all__ = [
    "APPROVE",
    "CHOOSE",
    "EDIT",
    "EDIT_VIEW",
    "FIT",
    "MAX_FALLBACK",
    "MAX_HEADER",
    "MAX_MESSAGE_BLOCKS",
    "MAX_SECTION",
    "MAX_VIEW_BLOCKS",
    "REASON",
    "REJECT",
    "REJECT_VIEW",
    "STATE_TITLES",
    "VIEW_MANIFEST",
    "VIEW_PLAN",
    "Block",
    "RejectForm",
    "artifact_view",
    "card_text",
    "choice_blocks",
    "clip",
    "context",
    "edit_modal",
    "gitops_line",
    "header",
    "home_view",
    "interrupted_text",
    "plain_lines",
    "proposal_card",
    "reject_modal",
    "section",
    "state_line",
    "status_blocks",
    "why_blocks",
    "why_text",
]

S = ProposalState
EDIT_VIEW = "sizer_edit_submit"
CHOOSE = "sizer_choose"  # action ids CHOOSE-0, CHOOSE-1…: one button per offered service
MAX_CHOICES = 5


def _confidence(value: float) -> str:
    return f"{value:.2f} ({confidence_word(value).lower()})"


def _reason_line(reason: Reason) -> str:
    return f"• *{reason.field.replace('_', ' ')}*: {reason.text}"


def plain_lines(proposal: Proposal, focus: tuple[str, ...] = ()) -> list[str]:
    """The plain-words answer: what the numbers rest on, then who changed what."""
    edits = edits_between(
        (r.number, f"<@{r.author}>", Numbers(**r.sizing.model_dump())) for r in proposal.revisions
    )
    language = (proposal.request or {}).get("language")
    return plain_why(
        proposal.reasons,
        Numbers(**proposal.current.sizing.model_dump()),
        language=language if isinstance(language, str) else None,
        edits=edits,
        focus=focus,
        proposed=Numbers(**proposal.revisions[0].sizing.model_dump()),
    )


def why_blocks(answer: WhyAnswer, *, detail: bool = False) -> list[Block]:
    """A short plain answer; with ``detail``, every stored reason word for word as well."""
    p = answer.proposal
    source = "applied proposal" if answer.applied else f"latest proposal ({p.state})"
    s = p.current.sizing
    blocks: list[Block] = [
        section(
            f"*Why `{p.namespace}/{p.workload}` is sized this way* — "
            + (f"cluster `{p.cluster}`, " if p.cluster else "")
            + f"from the {source} "
            f"`{p.id}` revision {p.revision}: {s.replicas} replicas, cpu "
            f"{s.cpu_request}/{s.cpu_limit or '—'}, memory {s.memory_request}/"
            f"{s.memory_limit or '—'}, confidence {_confidence(p.confidence)}"
        ),
        section("\n".join(plain_lines(p)) or "No reasons are stored for it."),
    ]
    if not detail:
        blocks.append(context(f"The engine's numbers: `/sizer why {p.id} --detail`"))
        return blocks
    for reason in p.reasons:
        line = f"_{reason.statistic}; {reason.window}_"
        if reason.peers:
            line += f" · peers: {', '.join(reason.peers)}"
        blocks.append(section(f"{_reason_line(reason)}\n{line}"))
    for rev in p.revisions[1:]:
        blocks.append(context(f"Revision {rev.number}: {rev.note}"))
    if len(blocks) > MAX_MESSAGE_BLOCKS:
        hidden = len(blocks) - (MAX_MESSAGE_BLOCKS - 1)
        blocks = [*blocks[: MAX_MESSAGE_BLOCKS - 1], context(f"…{hidden} more not shown")]
    return blocks


def why_text(answer: WhyAnswer) -> str:
    return clip("\n".join(plain_lines(answer.proposal)), MAX_FALLBACK)


def choice_blocks(text: str, choices: tuple[str, ...]) -> list[Block]:
    """A question with one button per service it could mean."""
    buttons = [
        {
            "type": "button",
            "action_id": f"{CHOOSE}-{i}",
            "text": _text("plain_text", name, 75),
            "value": name,
        }
        for i, name in enumerate(choices[:MAX_CHOICES])
    ]
    return [section(text), {"type": "actions", "elements": buttons}]


def status_blocks(proposal: Proposal, trail: list[AuditEntry]) -> list[Block]:
    blocks = [
        section(
            f"*`{proposal.id}`* — `{proposal.namespace}/{proposal.workload}` revision "
            f"{proposal.revision}\n{state_line(proposal)}"
        )
    ]
    lines = [
        f"`{e.at[:19].replace('T', ' ')}` {e.to_state if e.event == 'transition' else 'refused'}"
        f" by <@{e.actor}> — {_trail_reason(e)}"
        if e.actor != "sizer"
        else f"`{e.at[:19].replace('T', ' ')}` {e.to_state} — {_trail_reason(e)}"
        for e in trail[-15:]
    ]
    if lines:
        blocks.append(section("\n".join(lines), verbatim=True))
    if proposal.result is not None:
        steps = ", ".join(f"{s.name} {'ok' if s.ok else 'failed'}" for s in proposal.result.steps)
        if steps:
            blocks.append(context("Steps: " + steps))
    return blocks


_MENTION = re.compile(r"&lt;@([UW][A-Z0-9]{1,20})&gt;")


def _trail_reason(entry: AuditEntry) -> str:
    """An audit reason in mrkdwn: escaped, since some hold what a person typed (a rejection's
    or a resolve's note); only the user mentions Sizer writes ("edited by <@U…>") stay live,
    and a rejection's reason, all typed, keeps none."""
    escaped = escape(clip(entry.reason, 200))
    if entry.event == "transition" and entry.to_state == ProposalState.REJECTED:
        return escaped
    return _MENTION.sub(r"<@\1>", escaped)


def edit_modal(proposal: Proposal, max_replicas: int | None = None) -> dict[str, Any]:
    """One input per :class:`Sizing` field, labelled and hinted as the model describes it;
    the replicas hint names the namespace's bound when there is one."""
    s = proposal.current.sizing
    blocks: list[Block] = [
        section(
            f"`{proposal.namespace}/{proposal.workload}` — revision {proposal.revision}. "
            "The edit is re-checked against capacity and needs approval like any change."
        )
    ]
    for name, info in Sizing.model_fields.items():
        hint = info.description or ""
        if name == "replicas" and max_replicas:
            hint = f"1 to {max_replicas} in {proposal.namespace}"
        value = getattr(s, name)
        element: dict[str, Any] = {"type": "plain_text_input", "action_id": "value"}
        if value is not None and str(value):
            element["initial_value"] = str(value)
        blocks.append(
            {
                "type": "input",
                "block_id": name,
                "optional": info.default is None,
                "label": _text("plain_text", info.title or name, 2000),
                "hint": _text("plain_text", hint, 2000),
                "element": element,
            }
        )
    return {
        "type": "modal",
        "callback_id": EDIT_VIEW,
        "private_metadata": proposal.card_ref().encode(),
        "title": _text("plain_text", "Edit proposal", 24),
        "submit": _text("plain_text", "Save revision", 24),
        "close": _text("plain_text", "Cancel", 24),
        "blocks": blocks,
    }


def interrupted_text(proposal: Proposal) -> str:
    return (
        f":warning: I restarted while `{proposal.id}` (revision {proposal.revision} of "
        f"`{proposal.namespace}/{proposal.workload}`) was {proposal.state}; its outcome is "
        "unknown. An approver should check the cluster and run "
        f"`/sizer resolve {proposal.id} applied|failed|rolled_back [note]`."
    )
