"""Renderers stay within Slack's limits and produce payloads slack_sdk accepts."""

from __future__ import annotations

import json
import time
from datetime import UTC
from zoneinfo import ZoneInfo

from bot.approvals.models import (
    CardRef,
    Prices,
    Proposal,
    ProposalState,
    Revision,
    Sizing,
    shown_hash,
)
from bot.executors.base import ApplyResult, FitReport, PreparedChange
from bot.service import EDIT_FIELDS, WhyAnswer
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


def _with_change(p: Proposal, **update: object) -> Proposal:
    change = p.current.change.model_copy(update=update)
    rev = p.current.model_copy(update={"change": change})
    return p.model_copy(update={"revisions": (*p.revisions[:-1], rev)})


def _ids(card: list[blocks.Block]) -> list[str]:
    actions = next(b for b in card if b["type"] == "actions")
    return [e["action_id"] for e in actions["elements"]]


def test_card_leads_with_the_state_and_has_the_buttons_with_confirm() -> None:
    p = _proposal()
    card = blocks.proposal_card(p)
    assert validate_blocks(card, 50) == []
    assert card[0]["text"]["text"] == ":hourglass_flowing_sand: Waiting for approval · w"
    assert card[1]["fields"][0]["text"] == "*Replicas*\n2"
    assert _ids(card) == [
        "sizer_approve",
        "sizer_edit",
        "sizer_reject",
        "sizer_view_manifest",
        "sizer_view_plan",
    ]
    actions = next(b for b in card if b["type"] == "actions")
    assert "confirm" in actions["elements"][0]
    ref = CardRef.decode(actions["elements"][0]["value"])
    assert ref.revision == 1 and ref.shown_sha256 == p.current.shown_sha256
    assert "line 0:" not in json.dumps(card), "the manifest is behind View manifest"
    assert "manifest sha256 `aaaaaaaaaaaa`" in json.dumps(card)
    # The buttons come right after the summary, not after the details.
    assert [b["type"] for b in card].index("actions") <= 4


def test_every_state_has_its_own_header() -> None:
    titles = {
        S.PROPOSED: "Waiting for approval",
        S.APPLYING: "Applying",
        S.APPLIED: "Applied",
        S.ROLLED_BACK: "Rolled back",
        S.FAILED: "Failed",
        S.EXPIRED: "Expired",
        S.REJECTED: "Rejected",
    }
    for state, title in titles.items():
        header = blocks.proposal_card(_proposal(state=state))[0]["text"]["text"]
        assert header.endswith(f" {title} · w"), header


def test_huge_content_is_clipped_to_slack_limits() -> None:
    p = _proposal(reasons=200, manifest_lines=500, text="y" * 5000, revisions=3)
    card = blocks.proposal_card(p)
    assert validate_blocks(card, 50) == []
    why = blocks.why_blocks(WhyAnswer(p, applied=False), detail=True)
    assert len(why) == 50 and validate_blocks(why, 50) == []
    assert "more not shown" in str(why[-1])
    assert len(blocks.card_text(p)) <= 3000
    view = blocks.artifact_view(p, p.card_ref(), "manifest")
    assert validate_view(view) == [] and len(view["blocks"]) <= 100
    assert "line 499:" in json.dumps(view), "a long manifest is split, not cut"


def test_decided_cards_offer_only_the_details_and_say_who_acted() -> None:
    for state in (S.APPLIED, S.REJECTED, S.EXPIRED, S.FAILED, S.APPLYING, S.ROLLED_BACK):
        failed = state in (S.FAILED, S.ROLLED_BACK)
        p = _proposal(state=state).model_copy(
            update={
                "result": ApplyResult(ok=False, error="boom", failed_step="rollout")
                if failed
                else None
            }
        )
        card = blocks.proposal_card(p)
        assert _ids(card) == ["sizer_view_manifest", "sizer_view_plan"]
        assert "<@U2>" in str(card)
        assert validate_blocks(card, 50) == []
        if failed:
            assert "at *rollout*: boom" in str(card)


def test_a_change_that_does_not_fit_offers_the_nearest_size_instead_of_approve() -> None:
    p = _with_change(
        _proposal(),
        preflight=("quota compute: pods needs 3 more, 1 free (short by 2)",),
        fit=FitReport(max_replicas=1),
    )
    card = blocks.proposal_card(p)
    assert validate_blocks(card, 50) == []
    assert _ids(card)[0] == "sizer_fit" and "sizer_approve" not in _ids(card)
    text = json.dumps(card)
    assert "cannot be approved as is" in text and "short by 2" in text
    assert "Nearest size that fits:* 1 replicas" in text
    assert "Use 1 replicas" in text

    none_fit = blocks.proposal_card(_with_change(p, fit=FitReport(max_replicas=0)))
    assert _ids(none_fit)[0] == "sizer_edit"
    assert "ask the platform team for more quota" in json.dumps(none_fit)


def test_totals_shares_and_a_labelled_cost_estimate() -> None:
    p = _with_change(
        _proposal(),
        fit=FitReport(
            quota_cpu=2.0, quota_memory=2 * 2**30, cluster_cpu=50.0, cluster_memory=100 * 2**30
        ),
    )
    rev = p.current.model_copy(update={"prices": Prices(vcpu_hour=0.04, gib_hour=0.005)})
    p = p.model_copy(update={"revisions": (rev,)})
    text = json.dumps(blocks.proposal_card(p), ensure_ascii=False)
    assert "*Total* 500m CPU · 512Mi memory requested (2 × 250m, 2 × 256Mi)" in text
    assert "`ns`: 25 % of the CPU quota, 25 % of the memory quota" in text
    assert "cluster: 1 % of the CPU, <1 % of the memory" in text
    # 730 h × (0.5 vCPU × 0.04 + 0.5 GiB × 0.005) = 16.4
    assert "*Cost* about $16 a month _(estimate from $0.04 per vCPU-hour" in text


def test_confidence_in_words_says_what_would_raise_it() -> None:
    p = _proposal()
    text = json.dumps(blocks.proposal_card(p))
    assert "Medium (0.50)" in text and "name a similar service" in text
    assert "24 h check" in text
    named = p.model_copy(update={"request": {"similar": ["image-resizer"]}, "confidence": 0.2})
    text = json.dumps(blocks.proposal_card(named))
    assert "Low (0.20)" in text and "sized from image-resizer" in text
    assert "name a similar service" not in text


def test_card_shows_input_and_policy_warnings_and_one_top_reason() -> None:
    p = _proposal(reasons=6)
    extra = (
        Reason(
            field="confidence",
            value=None,
            statistic="input check",
            window="request",
            text="no history for similar service 'image-resizer'",
        ),
        Reason(
            field="replicas",
            value=10,
            statistic="namespace policy",
            window="access file",
            text="under-provisioned: the load calls for 58 replicas but ns allows at most 10",
        ),
    )
    with_extra = p.model_copy(update={"reasons": p.reasons + extra})
    card = json.dumps(blocks.proposal_card(with_extra), ensure_ascii=False)
    assert ":warning: no history for similar service 'image-resizer'" in card
    assert ":warning: under-provisioned: the load calls for 58" in card
    assert "because 0" in card and "because 1" not in card
    assert "all 8 reasons: `why p-00000001`" in card


def test_views_are_valid() -> None:
    p = _proposal()
    modal = blocks.edit_modal(p, 10)
    assert validate_view(modal) == []
    assert CardRef.decode(modal["private_metadata"]) == p.card_ref()
    assert [b.get("block_id") for b in modal["blocks"][1:]] == [
        "replicas",
        "cpu_request",
        "cpu_limit",
        "memory_request",
        "memory_limit",
    ]
    assert "1 to 10 in ns" in json.dumps(modal)
    plan = blocks.artifact_view(p, p.card_ref(), "plan")
    assert validate_view(plan) == [] and "Plan: 1 to add" in json.dumps(plan)
    now = p.created_at + 7200
    home = blocks.home_view(
        "U1", [p] * 80, [p] * 80, links={p.id: "https://x/p1"}, zone=UTC, now=now
    )
    assert validate_view(home) == [] and len(home["blocks"]) <= 100
    assert "<https://x/p1|w>" in json.dumps(home) and "2 h ago" in json.dumps(home)
    empty = blocks.home_view("U1", [], [], zone=ZoneInfo("Europe/Paris"), now=now)
    assert validate_view(empty) == [] and "Nothing waits on you" in json.dumps(empty)


def test_the_edit_form_is_the_sizing_model() -> None:
    inputs = blocks.edit_modal(_proposal())["blocks"][1:]
    assert tuple(b["block_id"] for b in inputs) == EDIT_FIELDS == tuple(Sizing.model_fields)
    assert [(b["label"]["text"], b["optional"], b["hint"]["text"]) for b in inputs] == [
        ("Replicas", False, "1 or more"),
        ("CPU request", False, "e.g. 250m or 1.5"),
        ("CPU limit", True, "empty: no CPU limit"),
        ("Memory request", False, "e.g. 256Mi or 1Gi"),
        ("Memory limit", True, "e.g. 512Mi"),
    ]


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
