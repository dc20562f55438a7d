"""Verified outcomes reach the next cold start: stored in Redis, calibrated, said in the reasons."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis as redis_lib

from bot.approvals.models import Sizing
from bot.feedback.outcomes import Outcome, OutcomeStore, Prediction, Usage
from tests.approvals.doubles import RecordingExecutor, catalog, make_service, redis_prefix
from tools.propose import SizeRequest, peer_prediction
from tools.sizing.models import Policy
from tools.sizing.quantities import format_cpu, format_memory

IMAGE = "ghcr.io/acme/svc:1.0"


@pytest.fixture
def rp() -> Iterator[tuple[redis_lib.Redis, str]]:
    with redis_prefix() as pair:
        yield pair


def _request(name: str) -> SizeRequest:
    return SizeRequest(
        name=name,
        namespace="team-a",
        language="python",
        framework="flask",
        rps_low=20,
        rps_high=40,
        image=IMAGE,
    )


def _launched(store: OutcomeStore, name: str, used_over_predicted: float, at: float) -> None:
    """A python/flask service that really used ``used_over_predicted`` × what peers said."""
    request = _request(name)
    predicted = peer_prediction(request, catalog(), Policy())
    prediction = Prediction(
        proposal_id=f"p-{abs(hash(name)) % 16**8:08x}",
        workload=name,
        namespace="team-a",
        # What cold start proposed: the peers' prediction, and a limit over their peak.
        sizing=Sizing(
            replicas=2,
            cpu_request=format_cpu(predicted.cpu_cores),
            memory_request=format_memory(predicted.memory_p95_bytes),
            memory_limit=format_memory(predicted.memory_peak_bytes * 1.5),
        ),
        inputs=request.model_dump(mode="json"),
        applied_at=at,
        peer_prediction=predicted,
    )
    memory = predicted.memory_p95_bytes * used_over_predicted
    store.record(
        Outcome(
            prediction=prediction,
            check="report",
            checked_at=at + 86_400,
            revision=1,
            used=Usage(
                hours=24,
                pods=2,
                cpu_p50=predicted.cpu_cores / 2,
                cpu_p95=predicted.cpu_cores,
                cpu_max=predicted.cpu_cores * 2,
                mem_p50=memory * 0.9,
                mem_p95=memory,
                mem_max=predicted.memory_peak_bytes * used_over_predicted,
                oom_kills=0,
                restarts=0,
            ),
            goals_met=False,
            missed=("requests within 10 % of p95 usage",),
            proved=prediction.sizing,
        )
    )


def test_outcomes_correct_the_next_cold_start_and_say_so(
    rp: tuple[redis_lib.Redis, str],
) -> None:
    client, prefix = rp
    plain = make_service(client, prefix, RecordingExecutor())
    before = plain.size(_request("orders-api"), "UREQUESTER")

    store = OutcomeStore(client, prefix, lambda r: peer_prediction(r, catalog(), Policy()))
    assert store.calibration().outcomes == 0
    for index, name in enumerate(("billing-api", "users-api", "search-api", "mail-api")):
        _launched(store, name, used_over_predicted=2.0, at=1_700_000_000 + index)
    learned = make_service(client, prefix, RecordingExecutor(), learned=store.calibration)
    after = learned.size(_request("orders-api"), "UREQUESTER")

    def mem(p: object) -> int:
        from tools.sizing.quantities import parse_memory

        return parse_memory(p.current.sizing.memory_request)  # type: ignore[attr-defined]

    assert mem(after) > mem(before) * 1.3
    said = " ".join(r.text for r in after.reasons)
    assert "here used" in said and "corrected" in said and "4 outcomes" in said


def test_a_prediction_keeps_what_the_peers_said(rp: tuple[redis_lib.Redis, str]) -> None:
    client, prefix = rp
    service = make_service(client, prefix, RecordingExecutor())
    proposal = service.size(_request("orders-api"), "UREQUESTER")
    store = OutcomeStore(client, prefix, lambda r: peer_prediction(r, catalog(), Policy()))
    kept = store.predicted(proposal, 1_700_000_000)
    assert kept.peer_prediction is not None and kept.peer_prediction.memory_p95_bytes > 0
    # Without a way to compute the evidence, the prediction is still kept, without it.
    bare = OutcomeStore(client, prefix + "bare:")
    assert bare.predicted(proposal, 1_700_000_000).peer_prediction is None
