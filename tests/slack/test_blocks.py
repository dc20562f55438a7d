"""Renderers stay within Slack's limits and produce payloads slack_sdk accepts."""

from __future__ import annotations

import time

from bot.approvals.models import (
    CardRef,
    Proposal,
    ProposalState,
    Revision,
    Sizing,
    shown_hash,
)
from bot.executors.base import ApplyResult, PreparedChange
from bot.service import WhyAnswer
from bot.slack import blocks
from tests.emulators.slack_api import validate_blocks, validate_view
from tools.sizing.models import Reason

S = ProposalState


def _proposal(
    reasons: int = 3,
    manifest_lines: int = 10,
    text: str = "because",
    state: S = S.PROPOSED,
    revisions: int = 1,
) -> Proposal:
    manifest = "\n".join(f"line {i}: " + "x" * 80 for i in range(manifest_lines))
    change = PreparedChange(
        manifest_yaml=manifest,
        manifest_sha256="a" * 64,
        plan_summary="Plan: 1 to add",
        objects=("Deployment/ns/w",),
    )
    sizing = Sizing(replicas=2, cpu_request="250m", memory_request="256Mi", memory_limit="512Mi")
    revs = tuple(
        Revision(
            number=n,
            sizing=sizing,
            change=change,
            shown_sha256=shown_hash("p-00000001", n, "w", "ns", sizing, change),
            author="U1",
            created_at=0,
            note=f"edited by <@U1>: replicas {n}",
        )
        for n in range(1, revisions + 1)
    )
    now = time.time()
    return Proposal(
        id="p-00000001",
        workload="w",
        namespace="ns",
        requester="U1",
        state=state,
        revisions=revs,
        confidence=0.5,
        reasons=tuple(
            Reason(
                field="cpu_request",
                value=0.25,
                statistic="p95",
                window="12h",
                peers=("a", "b"),
                text=f"{text} {i}",
            )
            for i in range(reasons)
        ),
        created_at=now,
        expires_at=now + 3600,
        updated_at=now,
        updated_by="U2",
    )


def test_card_is_valid_and_has_the_three_buttons_with_confirm() -> None:
    card = blocks.proposal_card(_proposal())
    assert validate_blocks(card, 50) == []
    actions = next(b for b in card if b["type"] == "actions")
    ids = [e["action_id"] for e in actions["elements"]]
    assert ids == ["sizer_approve", "sizer_edit", "sizer_reject"]
    assert "confirm" in actions["elements"][0]
    ref = CardRef.decode(actions["elements"][0]["value"])
    assert ref.revision == 1 and ref.shown_sha256 == _proposal().current.shown_sha256


def test_huge_content_is_clipped_to_slack_limits() -> None:
    p = _proposal(reasons=200, manifest_lines=500, text="y" * 5000, revisions=3)
    card = blocks.proposal_card(p)
    assert validate_blocks(card, 50) == []
    why = blocks.why_blocks(WhyAnswer(p, applied=False), detail=True)
    assert len(why) == 50 and validate_blocks(why, 50) == []
    assert "more not shown" in str(why[-1])
    assert len(blocks.card_text(p)) <= 3000


def test_decided_cards_have_no_buttons_and_say_who_acted() -> None:
    for state in (S.APPLIED, S.REJECTED, S.EXPIRED, S.FAILED, S.APPLYING):
        p = _proposal(state=state).model_copy(
            update={"result": ApplyResult(ok=False, error="boom") if state == S.FAILED else None}
        )
        card = blocks.proposal_card(p)
        assert not any(b["type"] == "actions" for b in card)
        assert "<@U2>" in str(card)
        assert validate_blocks(card, 50) == []


def test_views_are_valid() -> None:
    p = _proposal()
    modal = blocks.edit_modal(p)
    assert validate_view(modal) == []
    assert CardRef.decode(modal["private_metadata"]) == p.card_ref()
    assert [b.get("block_id") for b in modal["blocks"][1:]] == [
        "replicas",
        "cpu_request",
        "cpu_limit",
        "memory_request",
        "memory_limit",
    ]
    home = blocks.home_view("U1", [_proposal()] * 80)
    assert validate_view(home) == [] and len(home["blocks"]) <= 100
    assert validate_view(blocks.home_view("U1", [])) == []


def test_status_lists_the_trail() -> None:
    from bot.approvals.audit import AuditEntry

    entry = AuditEntry(
        event="transition",
        proposal="p-00000001",
        revision=1,
        workload="w",
        namespace="ns",
        from_state="",
        to_state="proposed",
        actor="U1",
        at="2026-01-01T00:00:00.000+00:00",
        sha256="a" * 64,
        reason="sized",
    )
    out = blocks.status_blocks(_proposal(), [entry])
    assert validate_blocks(out, 50) == []
    assert "proposed by <@U1>" in str(out)


def test_card_warns_when_the_change_does_not_fit() -> None:
    p = _proposal()
    change = p.current.change.model_copy(update={"preflight": ("quota: cpu 4 > 2 left",)})
    rev = p.current.model_copy(update={"change": change})
    card = blocks.proposal_card(p.model_copy(update={"revisions": (rev,)}))
    assert "Does not fit the cluster" in str(card) and "quota: cpu 4 > 2 left" in str(card)
    assert validate_blocks(card, 50) == []


def test_card_shows_input_warnings_and_the_confidence_basis() -> None:
    p = _proposal(reasons=6)
    extra = (
        Reason(field="confidence", value=0.3, statistic="peers", window="w", text="few peers"),
        Reason(
            field="confidence",
            value=None,
            statistic="input check",
            window="request",
            text="no history for similar service 'image-resizer'",
        ),
    )
    card = str(blocks.proposal_card(p.model_copy(update={"reasons": p.reasons + extra})))
    assert ":warning: no history for similar service 'image-resizer'" in card
    assert "_few peers_" in card
    assert "because 3" in card and "because 4" not in card
    assert "…and 2 more" in card
