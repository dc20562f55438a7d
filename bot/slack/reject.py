"""The Reject form: a small modal for an optional reason, which doubles as the confirmation.

A rejection cannot be undone (a first proposal never comes back from ``rejected``), and the
Reject button sat next to Approve and Edit with nothing in between, so a slip rejected at
once. The form costs one more click, says what rejecting means for this revision, and asks
why; Cancel rejects nothing. The form carries the card it was opened from (its ``CardRef``
and where the message is), so the submission rejects exactly the revision that was shown.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bot.approvals.models import CardRef, Proposal
from bot.approvals.reasons import MAX_REASON
from bot.slack.kit import Block, section, text

__all__ = ["REASON", "REJECT_VIEW", "RejectForm", "reject_modal"]

REJECT_VIEW = "sizer_reject_submit"
REASON = "reason"  # the input's block_id; its element's action_id is "value", as in Edit
_TS = r"^[0-9]{1,12}(\.[0-9]{1,9})?$"


class RejectForm(BaseModel):
    """What the modal's ``private_metadata`` carries back: the card and where it is posted."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    ref: CardRef
    channel: str | None = Field(None, alias="c", pattern=r"^[A-Z0-9]{1,32}$")
    message_ts: str | None = Field(None, alias="m", pattern=_TS)
    thread_ts: str | None = Field(None, alias="t", pattern=_TS)

    def encode(self) -> str:
        return self.model_dump_json(by_alias=True, exclude_none=True)

    @classmethod
    def decode(cls, raw: str) -> RejectForm:
        return cls.model_validate_json(raw)


def reject_modal(proposal: Proposal, form: RejectForm) -> dict[str, Any]:
    """Reject revision N of a workload, with an optional plain-text reason of bounded length."""
    where = f"`{proposal.namespace}/{proposal.workload}`" + (
        f" on `{proposal.cluster}`" if proposal.cluster else ""
    )
    running = proposal.in_force
    keeps = (
        f" Revision {running} stays applied."
        if running is not None and running != proposal.revision
        else " Nothing is applied, and a rejected proposal cannot be approved later."
    )
    blocks: list[Block] = [
        section(f"Reject revision {proposal.revision} of {where}?{keeps}"),
        {
            "type": "input",
            "block_id": REASON,
            "optional": True,
            "label": text("plain_text", "Reason", 2000),
            "hint": text(
                "plain_text",
                f"Shown on the card and kept in the audit trail; up to {MAX_REASON} characters.",
                2000,
            ),
            "element": {
                "type": "plain_text_input",
                "action_id": "value",
                "multiline": True,
                "max_length": MAX_REASON,
                "placeholder": text("plain_text", "e.g. launch next week: keep today's size", 150),
            },
        },
    ]
    return {
        "type": "modal",
        "callback_id": REJECT_VIEW,
        "private_metadata": form.encode(),
        "title": text("plain_text", "Reject proposal", 24),
        "submit": text("plain_text", "Reject", 24),
        "close": text("plain_text", "Cancel", 24),
        "blocks": blocks,
    }
