"""Compare-and-set transitions, indexes and the audit stream on real Redis."""

from __future__ import annotations

import threading
import time

import pytest
import redis as redis_lib

from bot.approvals.models import Proposal, ProposalState, Revision, Sizing, allowed
from bot.approvals.store import (
    IllegalTransition,
    ProposalExists,
    ProposalStore,
    TransitionConflict,
)
from bot.executors.base import PreparedChange

S = ProposalState
Pair = tuple[redis_lib.Redis, str]


def _proposal(
    pid: str = "p-0000000a", workload: str = "w", user: str = "U1", cluster: str | None = None
) -> Proposal:
    change = PreparedChange(manifest_yaml="m", manifest_sha256="0" * 64, plan_summary="")
    rev = Revision(
        number=1,
        sizing=Sizing(replicas=1, cpu_request="1", memory_request="1Mi"),
        change=change,
        shown_sha256="f" * 64,
        author=user,
        created_at=0,
    )
    now = time.time()
    return Proposal(
        id=pid,
        workload=workload,
        namespace="ns",
        requester=user,
        revisions=(rev,),
        confidence=0.5,
        created_at=now,
        expires_at=now + 60,
        updated_at=now,
        updated_by=user,
        cluster=cluster,
    )


def _apply(store: ProposalStore, seen: Proposal) -> Proposal:
    for state in (S.APPROVED, S.APPLYING, S.APPLIED):
        seen = store.transition(seen, seen.model_copy(update={"state": state}), state.value)
    return seen


def test_state_machine_table() -> None:
    assert allowed(S.PROPOSED, S.APPROVED) and allowed(S.APPLYING, S.ROLLED_BACK)
    assert not allowed(S.PROPOSED, S.APPLYING)
    # an applied proposal only ever goes back to proposed: a check's new revision
    assert allowed(S.APPLIED, S.PROPOSED)
    assert not any(allowed(S.APPLIED, s) for s in S if s != S.PROPOSED)
    assert not allowed(S.REJECTED, S.APPROVED)
    # a rejected or expired check's revision leaves the applied one running: only a new
    # revision reopens it (the service allows that only with an applied revision in force)
    for decided in (S.REJECTED, S.EXPIRED, S.ROLLED_BACK):
        assert [s for s in S if allowed(decided, s)] == [S.PROPOSED]
    assert not any(allowed(S.FAILED, s) for s in S)


def test_create_twice_is_refused(rp: Pair) -> None:
    store = ProposalStore(*rp)
    store.create(_proposal(), "sized")
    with pytest.raises(ProposalExists):
        store.create(_proposal(), "sized")


def test_illegal_transition_is_a_programming_error(rp: Pair) -> None:
    store = ProposalStore(*rp)
    seen = store.create(_proposal(), "sized")
    with pytest.raises(IllegalTransition):
        store.transition(seen, seen.model_copy(update={"state": S.APPLIED}), "skip")


def test_only_one_of_many_concurrent_transitions_wins(rp: Pair) -> None:
    client, prefix = rp
    seen = ProposalStore(client, prefix).create(_proposal(), "sized")
    barrier = threading.Barrier(8)
    results: list[str] = []

    def attempt(i: int) -> None:
        store = ProposalStore(
            redis_lib.Redis.from_url("redis://127.0.0.1:6379/0", decode_responses=True), prefix
        )
        target = S.APPROVED if i % 2 else S.REJECTED
        barrier.wait()
        try:
            store.transition(
                seen, seen.model_copy(update={"state": target, "updated_by": f"U{i}"}), "click"
            )
            results.append("won")
        except TransitionConflict as conflict:
            results.append(conflict.state.value)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("won") == 1
    final = ProposalStore(client, prefix).get(seen.id)
    assert final is not None and all(r in ("won", final.state.value) for r in results)
    moves = [e for e in ProposalStore(client, prefix).audit.entries() if e.from_state]
    assert len(moves) == 1


def test_indexes_follow_transitions(rp: Pair) -> None:
    store = ProposalStore(*rp)
    first = store.create(_proposal("p-0000000a"), "sized")
    second = store.create(_proposal("p-0000000b", user="U2"), "sized")
    assert store.find("w")[0] == second and not store.find("w")[1]
    approved = store.transition(first, first.model_copy(update={"state": S.APPROVED}), "ok")
    applying = store.transition(approved, approved.model_copy(update={"state": S.APPLYING}), "go")
    assert [p.id for p in store.in_states([S.APPLYING])] == [first.id]
    applied = store.transition(applying, applying.model_copy(update={"state": S.APPLIED}), "done")
    found, is_applied = store.find("w", "ns")
    assert found == applied and is_applied
    assert store.in_states([S.APPLYING]) == []
    assert [p.id for p in store.recent_for("U1")] == [first.id]
    assert [p.id for p in store.due_to_expire(time.time() + 120)] == [second.id]
    store.set_message(second.id, "123.4")
    got = store.get(second.id)
    assert got is not None and got.message_ts == "123.4"


def test_audit_entries_carry_who_when_what_why(rp: Pair) -> None:
    store = ProposalStore(*rp)
    seen = store.create(_proposal(), "sized by test")
    store.deny(seen, "USTRANGER", "approve refused: not an approver", time.time())
    entries = list(store.audit.entries())
    assert [(e.event, e.actor, e.reason) for e in entries] == [
        ("transition", "U1", "sized by test"),
        ("denied", "USTRANGER", "approve refused: not an approver"),
    ]
    assert all(e.sha256 == "f" * 64 and e.at.endswith("+00:00") for e in entries)
    assert list(store.audit.entries(workload="other")) == []
    assert len(list(store.audit.entries(workload="ns/w"))) == 2


def test_each_cluster_has_its_own_pointer_for_the_same_namespace_and_name(rp: Pair) -> None:
    client, prefix = rp
    store = ProposalStore(client, prefix, default_cluster="east")
    east = _apply(store, store.create(_proposal("p-0000000e", cluster="east"), "sized"))
    west = store.create(_proposal("p-0000000f", cluster="west"), "sized")
    assert store.find("w", "ns", cluster="east") == (east, True)
    assert store.find("w", "ns", cluster="west") == (west, False)
    west = _apply(store, west)  # applying west's leaves east's pointer alone
    assert store.find("w", "ns", cluster="east") == (east, True)
    assert store.find("w", "ns", cluster="west") == (west, True)
    assert store.find("w", cluster="north") == (None, False)
    assert store.find("w")[0] == west  # no cluster named: the most recent, as before
    # the default cluster keeps the key name earlier versions used; the others get their own
    assert client.hget(f"{prefix}workload:ns/w", "applied") == east.id
    assert client.hget(f"{prefix}workload:ns/w@west", "applied") == west.id
    assert client.smembers(f"{prefix}names:w") == {"ns", "ns@west"}


def test_a_pointer_an_earlier_version_wrote_is_found_for_its_cluster(rp: Pair) -> None:
    client, prefix = rp
    store = ProposalStore(client, prefix, default_cluster="east")
    before = store.create(_proposal("p-0000000a"), "sized")  # from before the clusters file
    west = store.create(_proposal("p-0000000b", cluster="west"), "sized")
    # What an earlier version left: one pointer per namespace/name, whatever the cluster.
    for key in client.scan_iter(match=f"{prefix}workload:*"):
        client.delete(key)
    client.delete(f"{prefix}names:w")
    client.hset(f"{prefix}workload:ns/w", mapping={"latest": before.id, "applied": before.id})
    client.sadd(f"{prefix}names:w", "ns")

    # a proposal naming no cluster went to the default cluster: its pointer is the default's
    assert store.find("w", "ns", cluster="east") == (before, True)
    assert store.find("w", "ns", cluster="west") == (None, False)

    # the earlier version overwrote that one pointer with west's: it is west's, not east's
    client.delete(f"{prefix}workload:ns/w")
    client.hset(f"{prefix}workload:ns/w", "latest", west.id)
    assert store.find("w", "ns", cluster="west") == (west, False)
    assert store.find("w", "ns", cluster="east") == (None, False)
