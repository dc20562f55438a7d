"""Event dedupe, the per-workload apply lock, and the access file."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import redis as redis_lib

from bot.approvals.access import AccessError, Capacity, load_access, may_approve
from bot.approvals.locks import EventDeduper, WorkloadLocks
from bot.approvals.models import Sizing
from tests.approvals.doubles import Groups

Pair = tuple[redis_lib.Redis, str]


def test_event_ids_pass_once(rp: Pair) -> None:
    deduper = EventDeduper(*rp, ttl_s=60)
    other_replica = EventDeduper(*rp, ttl_s=60)
    assert deduper.first("Ev1")
    assert not other_replica.first("Ev1")
    assert other_replica.first("Ev2")


def test_lock_is_exclusive_and_released_only_by_its_holder(rp: Pair) -> None:
    locks = WorkloadLocks(*rp, ttl_s=5)
    lock = locks.acquire("ns", "w", "p-1")
    assert lock is not None
    assert locks.acquire("ns", "w", "p-2") is None
    assert locks.holder("ns", "w") == "p-1"
    assert not locks.release_for("ns", "w", "p-2")
    assert lock.release()
    assert not lock.release()
    assert locks.acquire("ns", "w", "p-2") is not None


def test_the_same_namespace_and_name_in_two_clusters_are_locked_apart(rp: Pair) -> None:
    client, prefix = rp
    locks = WorkloadLocks(client, prefix, ttl_s=5, default_cluster="east")
    east = locks.acquire("ns", "w", "p-1", cluster="east")
    assert east is not None
    west = locks.acquire("ns", "w", "p-2", cluster="west")
    assert west is not None, "another cluster's apply of ns/w does not wait for east's"
    assert locks.acquire("ns", "w", "p-3", cluster="west") is None
    # a proposal naming no cluster is applied to the default one: east's lock is its lock
    assert locks.acquire("ns", "w", "p-3") is None and locks.holder("ns", "w") == "p-1"
    assert locks.holder("ns", "w", cluster="west") == "p-2"
    assert not locks.release_for("ns", "w", "p-2", cluster="east")
    assert locks.release_for("ns", "w", "p-2", cluster="west")
    assert locks.holder("ns", "w", cluster="east") == "p-1"
    # the default cluster's lock has the name earlier versions used, so an apply an older
    # replica runs during an upgrade holds off this version's apply of the same workload
    assert east.key == f"{prefix}lock:ns/w" and east.release()
    client.set(f"{prefix}lock:ns/w", "p-old 1234", px=5000)
    assert locks.acquire("ns", "w", "p-4", cluster="east") is None
    assert locks.holder("ns", "w", cluster="east") == "p-old"


def test_held_lock_is_renewed_and_a_dead_one_lapses(rp: Pair) -> None:
    locks = WorkloadLocks(*rp, ttl_s=0.6)
    with locks.acquire("ns", "live", "p-1") as live:  # type: ignore[union-attr]
        dead = locks.acquire("ns", "dead", "p-2")  # never renewed: its holder "died"
        assert dead is not None
        time.sleep(1.0)
        assert locks.holder("ns", "live") == "p-1"
        assert locks.holder("ns", "dead") is None
        assert live.key.endswith("ns/live")
    assert locks.holder("ns", "live") is None


def test_release_for_frees_an_interrupted_apply(rp: Pair) -> None:
    locks = WorkloadLocks(*rp, ttl_s=30)
    assert locks.acquire("ns", "w", "p-1") is not None
    assert locks.release_for("ns", "w", "p-1")
    assert locks.holder("ns", "w") is None


def test_lock_race(rp: Pair) -> None:
    locks = WorkloadLocks(*rp, ttl_s=5)
    won: list[bool] = []
    barrier = threading.Barrier(6)

    def grab(i: int) -> None:
        barrier.wait()
        won.append(locks.acquire("ns", "w", f"p-{i}") is not None)

    threads = [threading.Thread(target=grab, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert won.count(True) == 1


def test_access_file_parsing(tmp_path: Path) -> None:
    path = tmp_path / "access.yaml"
    path.write_text(
        "default: {approvers: {groups: [SPLATFORM]}}\n"
        "namespaces:\n  team-a:\n    approvers: {users: [U1]}\n    self_approval: true\n"
    )
    config = load_access(path)
    groups = Groups({"SPLATFORM": frozenset({"U9"})})
    assert may_approve(config, "team-a", "U1", "U1", groups).allowed
    assert not may_approve(config, "team-a", "U9", "U1", groups).allowed
    assert may_approve(config, "elsewhere", "U9", "U1", groups).allowed
    assert not may_approve(config, "elsewhere", "U9", "U9", groups).allowed
    assert load_access(None).for_namespace("x") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("namespaces: {Team_A: {}}", "namespaces.Team_A"),
        ("namespaces: {a: {approvers: {users: [bob]}}}", "not a Slack user ID"),
        ("namespaces: {a: {approver: {}}}", "Extra inputs are not permitted"),
        ("namespaces: {a: {capacity: {max_pod_cpu: lots}}}", "not a Kubernetes quantity"),
        ("namespaces: [", "not valid YAML"),
    ],
)
def test_bad_access_files_say_where(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "access.yaml"
    path.write_text(text)
    with pytest.raises(AccessError, match=message):
        load_access(path)
    with pytest.raises(AccessError, match="cannot read"):
        load_access(tmp_path / "missing.yaml")


def test_capacity_problems() -> None:
    cap = Capacity(max_replicas=3, max_pod_cpu="1", max_pod_memory="1Gi", cpu="2", memory="2Gi")
    fine = Sizing(replicas=2, cpu_request="500m", memory_request="512Mi", memory_limit="1Gi")
    assert cap.problems(fine) == {}
    big = Sizing(replicas=4, cpu_request="2", memory_request="1Gi", memory_limit="2Gi")
    problems = cap.problems(big)
    assert set(problems) == {"replicas", "cpu_request", "memory_limit", "memory_request"}
