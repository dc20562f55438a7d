"""The application service against real Redis: safety invariants 1–5."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
import redis as redis_lib

from bot.approvals.models import CardRef, Proposal, ProposalState, Sizing
from bot.approvals.store import ProposalStore
from bot.executors.base import ApplyResult
from bot.service import (
    Busy,
    EditConflict,
    EditInvalid,
    InputError,
    IntegrityError,
    NotAuthorised,
    NotFound,
    ProposalService,
    ServiceError,
    StaleCard,
)
from bot.slack.card import proposal_card
from tests.approvals.doubles import Clock, RecordingExecutor, make_service
from tools.propose import SizeRequest

S = ProposalState
Pair = tuple[redis_lib.Redis, str]


def _request(name: str = "items-api", namespace: str = "team-a") -> SizeRequest:
    return SizeRequest(
        name=name,
        namespace=namespace,
        language="python",
        framework="fastapi",
        rps_low=50,
        rps_high=100,
        similar=("emailservice",),
    )


def _sized(
    rp: Pair, requester: str = "UREQUESTER", **kw: object
) -> tuple[ProposalService, RecordingExecutor, CardRef]:
    executor = RecordingExecutor()
    service = make_service(*rp, executor, **kw)  # type: ignore[arg-type]
    proposal = service.size(_request(), requester, "C1", "1.0")
    return service, executor, proposal.card_ref()


def test_size_stores_a_proposal_with_the_prepared_change(rp: Pair) -> None:
    service, executor, ref = _sized(rp)
    stored = service.get(ref.proposal_id)
    assert stored.state == S.PROPOSED and stored.revision == 1
    assert [r.revision for r in executor.prepared] == [1]
    assert stored.current.sizing.cpu_request.endswith("m")
    assert stored.reasons and stored.reasons[0].field == "replicas"
    entries = list(service.trail(ref.proposal_id))
    assert [(e.to_state, e.actor) for e in entries] == [("proposed", "UREQUESTER")]
    assert entries[0].sha256 == ref.shown_sha256
    assert executor.applied == []


def test_authorised_approval_applies_exactly_what_was_shown(rp: Pair) -> None:
    service, executor, ref = _sized(rp)
    shown = service.get(ref.proposal_id).current.change
    done = service.approve(ref, "UAPPROVER")
    assert done.state == S.APPLIED
    assert len(executor.applied) == 1
    assert executor.applied[0].change == shown
    assert executor.applied[0].approved_by == "UAPPROVER"
    moves = [(e.from_state, e.to_state, e.actor) for e in service.workload_trail("items-api")]
    assert moves == [
        ("", "proposed", "UREQUESTER"),
        ("proposed", "approved", "UAPPROVER"),
        ("approved", "applying", "UAPPROVER"),
        ("applying", "applied", "UAPPROVER"),
    ]
    assert service.why("items-api").applied


def test_group_member_may_approve(rp: Pair) -> None:
    service, _executor, ref = _sized(rp)
    assert service.approve(ref, "UGROUPMEMBER").state == S.APPLIED


@pytest.mark.parametrize(
    ("actor", "expected"),
    [("USTRANGER", "not an approver"), ("UREQ2", "other than the requester")],
)
def test_unauthorised_or_self_approval_never_applies(rp: Pair, actor: str, expected: str) -> None:
    # UREQ2 is an approver of team-a, but not of a change they asked for themselves.
    service, executor, ref = _sized(rp, requester="UREQ2")
    with pytest.raises(NotAuthorised, match=expected):
        service.approve(ref, actor)
    assert executor.applied == []
    assert service.get(ref.proposal_id).state == S.PROPOSED
    denied = [e for e in service.workload_trail("items-api") if e.event == "denied"]
    assert [(d.actor, d.to_state) for d in denied] == [(actor, "proposed")]


def test_self_approval_where_the_namespace_allows_it(rp: Pair) -> None:
    executor = RecordingExecutor()
    service = make_service(*rp, executor)
    proposal = service.size(_request(namespace="sandbox"), "UREQUESTER")
    assert service.approve(proposal.card_ref(), "UREQUESTER").state == S.APPLIED


def test_unlisted_namespace_has_no_approvers(rp: Pair) -> None:
    executor = RecordingExecutor()
    service = make_service(*rp, executor)
    proposal = service.size(_request(namespace="elsewhere"), "UREQUESTER")
    with pytest.raises(NotAuthorised, match="no approvers"):
        service.approve(proposal.card_ref(), "UAPPROVER")


def test_second_click_is_refused_and_applies_once(rp: Pair) -> None:
    service, executor, ref = _sized(rp)
    service.approve(ref, "UAPPROVER")
    with pytest.raises(StaleCard, match="already applied"):
        service.approve(ref, "UGROUPMEMBER")
    assert len(executor.applied) == 1


def test_two_instances_racing_apply_exactly_once(rp: Pair) -> None:
    client, prefix = rp
    executor = RecordingExecutor()
    first = make_service(client, prefix, executor)
    proposal = first.size(_request(), "UREQUESTER")
    ref = proposal.card_ref()
    services = [
        make_service(
            redis_lib.Redis.from_url("redis://127.0.0.1:6379/0", decode_responses=True),
            prefix,
            executor,
        )
        for _ in range(6)
    ]
    barrier = threading.Barrier(len(services))
    outcomes: list[str] = []

    def click(service: ProposalService) -> None:
        barrier.wait()
        try:
            outcomes.append(service.approve(ref, "UAPPROVER").state.value)
        except (StaleCard, Busy) as exc:
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=click, args=(s,)) for s in services]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(executor.applied) == 1
    assert outcomes.count("applied") == 1
    assert len(outcomes) == 6
    transitions = [e for e in first.workload_trail("items-api") if e.event == "transition"]
    assert [e.to_state for e in transitions].count("approved") == 1


def test_edit_makes_a_new_revision_and_old_card_is_stale(rp: Pair) -> None:
    service, executor, ref = _sized(rp)
    edited = service.edit(
        ref,
        "UREQUESTER",
        {
            "replicas": "3",
            "cpu_request": "100m",
            "cpu_limit": "",
            "memory_request": "128Mi",
            "memory_limit": "256Mi",
        },
    )
    assert edited.revision == 2 and edited.state == S.PROPOSED
    assert edited.current.sizing.replicas == 3
    assert "replicas 2 → 3" in edited.current.note
    assert [r.revision for r in executor.prepared] == [1, 2]
    with pytest.raises(StaleCard, match="revision 1"):
        service.approve(ref, "UAPPROVER")
    assert executor.applied == []
    done = service.approve(edited.card_ref(), "UAPPROVER")
    assert done.state == S.APPLIED
    assert executor.applied[0].revision == 2
    assert executor.applied[0].change == edited.current.change


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"replicas": "0"}, "replicas", "whole number from 1"),
        ({"replicas": "many"}, "replicas", "whole number"),
        ({"cpu_request": "abc"}, "cpu_request", "not a Kubernetes quantity"),
        ({"memory_request": "12.5"}, "memory_request", "whole number of bytes"),
        ({"memory_limit": "64Mi"}, "memory_limit", "at least the request"),
        ({"replicas": "11"}, "replicas", "at most 10 replicas"),
        ({"memory_limit": "8Gi"}, "memory_limit", "at most 4Gi"),
        ({"replicas": "9", "cpu_request": "1"}, "cpu_request", "exceeds 8 CPU"),
        ({"cpu_request": ""}, "cpu_request", "required"),
    ],
)
def test_edit_is_validated_and_checked_against_capacity(
    rp: Pair, values: dict[str, str], field: str, message: str
) -> None:
    service, executor, ref = _sized(rp)
    form = {
        "replicas": "2",
        "cpu_request": "100m",
        "cpu_limit": "",
        "memory_request": "128Mi",
        "memory_limit": "256Mi",
    } | values
    with pytest.raises(EditInvalid) as info:
        service.edit(ref, "UREQUESTER", form)
    assert message in info.value.errors[field]
    assert service.get(ref.proposal_id).revision == 1
    assert [r.revision for r in executor.prepared] == [1]


def test_stranger_may_not_edit_or_reject(rp: Pair) -> None:
    service, _, ref = _sized(rp)
    with pytest.raises(NotAuthorised):
        service.reject(ref, "USTRANGER")
    with pytest.raises(NotAuthorised):
        service.check_edit(ref, "USTRANGER", {})
    assert service.reject(ref, "UREQUESTER").state == S.REJECTED


def test_expired_card_is_refused(rp: Pair) -> None:
    clock = Clock()
    service, executor, ref = _sized(rp, clock=clock)
    clock.now += 3601
    with pytest.raises(StaleCard, match="expired"):
        service.approve(ref, "UAPPROVER")
    assert service.get(ref.proposal_id).state == S.EXPIRED
    assert executor.applied == []


def test_expire_sweep_moves_due_proposals(rp: Pair) -> None:
    clock = Clock()
    service, _, ref = _sized(rp, clock=clock)
    assert service.expire_due() == []
    clock.now += 3601
    assert [p.id for p in service.expire_due()] == [ref.proposal_id]
    assert service.expire_due() == []


def _raised(proposal: Proposal) -> Sizing:
    return proposal.current.sizing.model_copy(update={"memory_limit": "2Gi"})


def test_a_checks_revision_of_an_applied_proposal_expires_and_the_applied_one_runs_on(
    rp: Pair,
) -> None:
    clock = Clock()
    service, executor, ref = _sized(rp, clock=clock)
    applied = service.approve(ref, "UAPPROVER")
    clock.now += 86_400  # a day later a check proposes a memory raise
    revised = service.revise(
        applied.id,
        _raised(applied),
        reasons=(),
        confidence=0.5,
        note="memory raise",
        base_revision=1,
    )
    assert revised.state == S.PROPOSED and revised.expires_at == clock.now + 3600  # a fresh window
    clock.now += 3599
    assert service.expire_due() == []
    clock.now += 2
    assert [p.id for p in service.expire_due()] == [applied.id]
    assert service.expire_due() == []

    expired = service.get(applied.id)
    assert expired.state == S.EXPIRED and expired.revision == 2 and expired.in_force == 1
    # the workload's applied proposal is still this one, and only revision 1 was ever applied
    found, is_applied = ProposalStore(*rp).find("items-api", "team-a")
    assert found is not None and found.id == applied.id and is_applied
    assert [r.revision for r in executor.applied] == [1]
    last = service.trail(applied.id)[-1]
    assert (last.revision, last.from_state, last.to_state) == (2, "proposed", "expired")
    assert last.reason == "expired; revision 1 stays applied"
    card = json.dumps(proposal_card(expired))
    assert "revision 2 was never applied: revision 1 stays applied" in card
    assert "For a fresh proposal" not in card  # what runs is sized: nothing to ask for


def test_a_rejected_checks_revision_may_be_revised_again_but_a_never_applied_proposal_not(
    rp: Pair,
) -> None:
    clock = Clock()
    service, _, ref = _sized(rp, clock=clock)
    rejected = service.reject(ref, "UAPPROVER")
    with pytest.raises(StaleCard, match="not applied at revision 1"):
        service.revise(
            rejected.id, _raised(rejected), reasons=(), confidence=0.5, note="x", base_revision=1
        )
    other = service.size(_request("other-api"), "UREQUESTER", "C1", "1.0")
    applied = service.approve(other.card_ref(), "UAPPROVER")
    first = service.revise(
        applied.id, _raised(applied), reasons=(), confidence=0.5, note="raise", base_revision=1
    )
    service.reject(first.card_ref(), "UAPPROVER")
    # only on top of the revision in force
    with pytest.raises(StaleCard):
        service.revise(
            applied.id, _raised(applied), reasons=(), confidence=0.5, note="x", base_revision=2
        )
    clock.now += 60
    again = service.revise(
        applied.id, _raised(first), reasons=(), confidence=0.5, note="raise", base_revision=1
    )
    assert again.state == S.PROPOSED and again.revision == 3 and again.in_force == 1
    # the reopened revision expires like any other
    clock.now += 3601
    assert [p.id for p in service.expire_due()] == [applied.id]


def test_card_hash_mismatch_is_refused(rp: Pair) -> None:
    service, executor, ref = _sized(rp)
    forged = CardRef(p=ref.proposal_id, r=ref.revision, h="0" * 64)
    with pytest.raises(IntegrityError, match="hash mismatch"):
        service.approve(forged, "UAPPROVER")
    assert executor.applied == []


def test_tampered_stored_manifest_is_refused(rp: Pair) -> None:
    client, prefix = rp
    service, executor, ref = _sized(rp)
    key = f"{prefix}proposal:{ref.proposal_id}"
    body = client.hget(key, "body")
    assert isinstance(body, str)
    client.hset(key, "body", body.replace("replicas: 2", "replicas: 20"))
    with pytest.raises(IntegrityError, match="manifest"):
        service.approve(ref, "UAPPROVER")
    assert executor.applied == []


def test_changed_plan_file_is_refused(rp: Pair, tmp_path: Path) -> None:
    executor = RecordingExecutor(plan_dir=tmp_path)
    service = make_service(*rp, executor)
    proposal = service.size(_request(), "UREQUESTER")
    assert proposal.current.change.plan_path is not None
    Path(proposal.current.change.plan_path).write_bytes(b"destroy everything")
    with pytest.raises(IntegrityError, match="Terraform plan"):
        service.approve(proposal.card_ref(), "UAPPROVER")
    assert executor.applied == []


@pytest.mark.parametrize(
    ("outcome", "state"),
    [
        (ApplyResult(ok=False, error="rollout timed out", rolled_back=True), S.ROLLED_BACK),
        (ApplyResult(ok=False, error="terraform apply failed"), S.FAILED),
    ],
)
def test_apply_failures_are_recorded(rp: Pair, outcome: ApplyResult, state: S) -> None:
    service, executor, ref = _sized(rp)
    executor.outcome = outcome
    done = service.approve(ref, "UAPPROVER")
    assert done.state == state and done.result == outcome
    last = list(service.workload_trail("items-api"))[-1]
    assert last.to_state == state.value and outcome.error is not None
    assert outcome.error in last.reason


def test_executor_exception_becomes_failed(rp: Pair) -> None:
    service, executor, ref = _sized(rp)
    executor.raise_on_apply = RuntimeError("connection refused")
    done = service.approve(ref, "UAPPROVER")
    assert done.state == S.FAILED
    assert done.result is not None and "connection refused" in (done.result.error or "")


def test_prepare_failure_leaves_nothing_behind(rp: Pair) -> None:
    client, prefix = rp
    executor = RecordingExecutor()
    executor.raise_on_prepare = RuntimeError("ansible render failed")
    service = make_service(client, prefix, executor)
    with pytest.raises(Exception, match="could not render"):
        service.size(_request(), "UREQUESTER")
    assert list(client.scan_iter(match=prefix + "*")) == []


def test_workload_lock_refuses_a_concurrent_apply(rp: Pair) -> None:
    executor = RecordingExecutor()
    executor.gate = threading.Event()
    service = make_service(*rp, executor)
    first = service.size(_request(), "UREQUESTER")
    second = service.size(_request(), "UREQUESTER")
    runner = threading.Thread(target=service.approve, args=(first.card_ref(), "UAPPROVER"))
    runner.start()
    assert executor.started.wait(5)
    try:
        with pytest.raises(Busy, match="being applied"):
            service.approve(second.card_ref(), "UAPPROVER")
    finally:
        executor.gate.set()
        runner.join()
    assert [a.proposal_id for a in executor.applied] == [first.id]
    assert service.get(second.id).state == S.PROPOSED


def test_interrupted_apply_is_reported_and_resolvable(rp: Pair) -> None:
    client, prefix = rp
    executor = RecordingExecutor()
    service = make_service(client, prefix, executor, lock_ttl_s=1)
    proposal = service.size(_request(), "UREQUESTER")
    # A replica that died mid-apply: the proposal is applying and its lock has lapsed.
    store = ProposalStore(client, prefix)
    approved = store.transition(
        proposal, proposal.model_copy(update={"state": S.APPROVED, "updated_by": "UAPPROVER"}), "x"
    )
    applying = store.transition(
        approved, approved.model_copy(update={"state": S.APPLYING}), "apply started"
    )
    assert [p.id for p in service.interrupted()] == [applying.id]
    with pytest.raises(NotAuthorised):
        service.resolve(applying.id, S.APPLIED, "USTRANGER", "")
    done = service.resolve(applying.id, S.APPLIED, "UAPPROVER", "rollout complete in cluster")
    assert done.state == S.APPLIED
    assert service.interrupted() == []
    assert "resolved after restart" in list(service.workload_trail("items-api"))[-1].reason
    with pytest.raises(StaleCard):
        service.resolve(applying.id, S.FAILED, "UAPPROVER", "")


def test_a_live_apply_is_not_reported_as_interrupted(rp: Pair) -> None:
    executor = RecordingExecutor()
    executor.gate = threading.Event()
    service = make_service(*rp, executor, lock_ttl_s=1)
    proposal = service.size(_request(), "UREQUESTER")
    runner = threading.Thread(target=service.approve, args=(proposal.card_ref(), "UAPPROVER"))
    runner.start()
    assert executor.started.wait(5)
    try:
        threading.Event().wait(1.5)  # longer than the lock TTL: renewal keeps it held
        assert service.interrupted() == []
        with pytest.raises(Busy):
            service.resolve(proposal.id, S.FAILED, "UAPPROVER", "")
    finally:
        executor.gate.set()
        runner.join()
    assert service.get(proposal.id).state == S.APPLIED


def test_why_and_status_come_from_the_store(rp: Pair) -> None:
    service, _, ref = _sized(rp)
    answer = service.why("team-a/items-api")
    assert answer.proposal.id == ref.proposal_id and not answer.applied
    assert service.why(ref.proposal_id).proposal.reasons == answer.proposal.reasons
    with pytest.raises(NotFound, match="no proposal for"):
        service.why("nothing-here")
    with pytest.raises(NotFound, match="look like p-"):
        service.get("12")


def test_bad_size_input_is_an_input_error(rp: Pair) -> None:
    executor = RecordingExecutor()
    service = make_service(*rp, executor)
    request = SizeRequest(name="svc", rps_low=1, rps_high=2)
    service.size(request, "U1")  # a request with no hints still sizes
    assert issubclass(InputError, Exception)


def test_edit_that_does_not_fit_the_cluster_is_refused_and_audited(rp: Pair) -> None:
    service, executor, ref = _sized(rp)
    executor.fits_replicas = 4
    form = {
        "replicas": "5",
        "cpu_request": "100m",
        "cpu_limit": "",
        "memory_request": "128Mi",
        "memory_limit": "256Mi",
    }
    with pytest.raises(EditInvalid) as info:
        service.edit(ref, "UREQUESTER", form)
    assert "does not fit the cluster: quota: 5 pods" in info.value.errors["replicas"]
    assert service.get(ref.proposal_id).revision == 1
    last = list(service.workload_trail("items-api"))[-1]
    assert last.event == "denied" and "does not fit" in last.reason
    assert service.edit(ref, "UREQUESTER", form | {"replicas": "4"}).revision == 2


def test_sizing_caps_replicas_at_the_namespace_bound_and_says_it_under_provisions(
    rp: Pair,
) -> None:
    service = make_service(*rp, RecordingExecutor())
    request = SizeRequest(
        name="big-api", namespace="team-a", language="java", rps_low=5000, rps_high=5000
    )
    proposal = service.size(request, "UREQUESTER")
    assert proposal.current.sizing.replicas == 10, "team-a allows 10, like the edit form"
    warning = next(r for r in proposal.reasons if r.statistic == "namespace policy")
    assert "under-provisioned" in warning.text and "at most 10" in warning.text
    wanted = int(warning.text.split("calls for ")[1].split()[0])
    assert wanted > 10
    # Elsewhere the global policy still applies, and nothing is said.
    other = service.size(request.model_copy(update={"namespace": "sandbox"}), "UREQUESTER")
    assert other.current.sizing.replicas == min(wanted, 50), "the global policy bound"
    assert not any(r.statistic == "namespace policy" for r in other.reasons)


def test_a_misfit_is_never_approved_and_the_nearest_size_is_a_new_revision(rp: Pair) -> None:
    executor = RecordingExecutor()
    executor.fits_replicas = 1
    service = make_service(*rp, executor)
    proposal = service.size(_request(), "UREQUESTER", "C1", "1.0")
    assert proposal.current.change.preflight
    with pytest.raises(ServiceError, match="does not fit the cluster"):
        service.approve(proposal.card_ref(), "UAPPROVER")
    fitted = service.fit_to_room(proposal.card_ref(), "UREQUESTER")
    assert fitted.revision == 2 and fitted.current.sizing.replicas == 1
    assert not fitted.current.change.preflight
    assert "nearest size that fits" in fitted.current.note
    assert service.approve(fitted.card_ref(), "UAPPROVER").state == S.APPLIED


def test_an_edit_on_a_replaced_revision_names_who_replaced_it(rp: Pair) -> None:
    service, _, ref = _sized(rp)
    form = {
        "replicas": "3",
        "cpu_request": "100m",
        "cpu_limit": "",
        "memory_request": "128Mi",
        "memory_limit": "256Mi",
    }
    service.edit(ref, "UAPPROVER", form)
    with pytest.raises(EditConflict) as info:
        service.edit(ref, "UREQUESTER", form | {"replicas": "4"})
    assert (info.value.author, info.value.revision, info.value.saving) == ("UAPPROVER", 2, False)
    assert service.get(ref.proposal_id).current.sizing.replicas == 3


def test_pending_for_lists_what_an_approver_may_decide(rp: Pair) -> None:
    service = make_service(*rp, RecordingExecutor())
    waiting = service.size(_request(), "UREQUESTER")
    assert [p.id for p in service.pending_for("UAPPROVER")] == [waiting.id]
    assert [p.id for p in service.pending_for("UGROUPMEMBER")] == [waiting.id]
    assert service.pending_for("USTRANGER") == []
    assert [p.id for p in service.recent_for("UREQUESTER")] == [waiting.id]
    assert [e.to_state for e in service.trail(waiting.id)] == ["proposed"]
    service.approve(waiting.card_ref(), "UAPPROVER")
    assert service.pending_for("UAPPROVER") == []
    assert not hasattr(service, "store")
