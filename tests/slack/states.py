"""Every state a card can be in, produced by the real service (Redis + recording executor).

The payloads are exactly what the bot posts (``blocks.proposal_card`` and friends), so the
screenshots and the rendering test look at the same thing a reviewer sees in Slack.
"""

from __future__ import annotations

import time
from typing import Any
from zoneinfo import ZoneInfo

from bot.approvals.models import Prices, ProposalState, Sizing
from bot.executors.base import ApplyResult, ApplyStep
from bot.slack import blocks
from tests.approvals.doubles import Clock, RecordingExecutor, make_service, redis_prefix
from tools.propose import SizeRequest
from tools.sizing.models import Reason

__all__ = ["STATES", "card_states"]

STATES = (
    "waiting",
    "applying",
    "applied",
    "rolled-back",
    "failed",
    "expired",
    "rightsize",
    "rightsize-rejected",
    "rejected-with-reason",
    "does-not-fit",
    "manifest",
    "reject-form",
    "home",
)
PRICES = Prices(vcpu_hour=0.0316, gib_hour=0.0042)


def _request(name: str) -> SizeRequest:
    return SizeRequest(
        name=name,
        namespace="team-a",
        language="python",
        framework="fastapi",
        rps_low=50,
        rps_high=400,
        similar=("emailservice",),
        image=f"ghcr.io/acme/{name}:1.4.2",
    )


def card_states() -> dict[str, dict[str, Any]]:
    """State name → the payload posted for it (a message's blocks, or a view)."""
    out: dict[str, dict[str, Any]] = {}
    clock = Clock(time.time())
    with redis_prefix() as (client, prefix):
        executor = RecordingExecutor()
        service = make_service(client, prefix, executor, clock=clock)
        service._prices = PRICES

        def card(p: Any) -> dict[str, Any]:
            return {"blocks": blocks.proposal_card(p), "text": blocks.card_text(p)}

        waiting = service.size(_request("items-api"), "UREQUESTER", "C1", "1.0")
        out["waiting"] = card(waiting)
        out["manifest"] = blocks.artifact_view(waiting, waiting.card_ref(), "manifest")
        form = blocks.RejectForm(ref=waiting.card_ref(), channel="C1", message_ts="1.1")
        out["reject-form"] = blocks.reject_modal(waiting, form)
        # What the card shows between the approval and the outcome (observe() in approve).
        applying = {"state": ProposalState.APPLYING, "updated_by": "UAPPROVER"}
        out["applying"] = card(waiting.model_copy(update=applying))
        applied = service.approve(waiting.card_ref(), "UAPPROVER")
        out["applied"] = card(applied)
        # The 24 h check's right-size of what runs: a new revision with the same buttons.
        window = "24.0 h to 2026-12-03 09:00 UTC, 288 five-minute windows, 2 pods"
        revised = service.revise(
            applied.id,
            Sizing(replicas=2, cpu_request="120m", memory_request="90Mi", memory_limit="160Mi"),
            reasons=(
                Reason(
                    field="cpu_request",
                    value=0.12,
                    statistic="p95 of 5-min mean CPU, recency half-life 12 h",
                    window=window,
                    text="p95 of 5-minute CPU was 118m; the 46m request was 61 % under it",
                ),
                Reason(
                    field="memory_request",
                    value=90 * 2**20,
                    statistic="p95 of 5-min mean memory, recency half-life 12 h",
                    window=window,
                    text="p95 of 5-minute memory was 89Mi against the 26Mi request",
                ),
            ),
            confidence=0.62,
            note="right-size from its own usage after the check missed requests-fit",
            base_revision=applied.revision,
        )
        out["rightsize"] = card(revised)
        out["rightsize-rejected"] = card(
            service.reject(revised.card_ref(), "UAPPROVER", "we expect a launch next week")
        )
        # A first proposal turned down with a reason (typed text, escaped on the card).
        turned_down = service.size(_request("payments-api"), "UREQUESTER", "C1", "1.5")
        out["rejected-with-reason"] = card(
            service.reject(
                turned_down.card_ref(),
                "UAPPROVER",
                "Load & soak tests first: the <2 s p99 target needs 3 replicas, see "
                "https://wiki.example/payments/launch",
            )
        )

        executor.outcome = ApplyResult(
            ok=False,
            rolled_back=True,
            failed_step="rollout",
            error="rollout: 2 of 3 pods OOMKilled (memory limit 175Mi); rolled back to the "
            "previous revision",
            steps=[ApplyStep(name="apply", ok=True), ApplyStep(name="rollout", ok=False)],
        )
        rolled = service.size(_request("cart-api"), "UREQUESTER", "C1", "2.0")
        out["rolled-back"] = card(service.approve(rolled.card_ref(), "UAPPROVER"))

        executor.outcome = ApplyResult(
            ok=False,
            failed_step="terraform",
            error="terraform apply: quota team-a already exists",
            steps=[ApplyStep(name="terraform", ok=False)],
        )
        failed = service.size(_request("orders-api"), "UREQUESTER", "C1", "3.0")
        out["failed"] = card(service.approve(failed.card_ref(), "UAPPROVER"))

        stale = service.size(_request("search-api"), "UAPPROVER", "C1", "4.0")

        executor.fits_replicas = 3
        big = SizeRequest(
            name="big-api",
            namespace="team-a",
            language="java",
            rps_low=5000,
            rps_high=5000,
            image="ghcr.io/acme/big-api:2.0.0",
        )
        out["does-not-fit"] = card(service.size(big, "UREQUESTER", "C1", "5.0"))
        executor.fits_replicas = None
        service.size(_request("users-api"), "UREQUESTER", "C1", "6.0")

        # App Home for an approver who also asked for something, 40 minutes later.
        clock.now += 2400
        pending = service.pending_for("UAPPROVER")
        mine = service.recent_for("UAPPROVER")
        everyone = [*pending, *mine]
        links = {
            p.id: f"https://example.slack.com/archives/C1/p{i}" for i, p in enumerate(everyone)
        }
        out["home"] = blocks.home_view(
            "UAPPROVER",
            pending,
            mine,
            links=links,
            zone=ZoneInfo("Europe/Amsterdam"),
            now=clock.now,
        )
        clock.now += 7200
        out["expired"] = card(service.get(stale.id))
    return out
