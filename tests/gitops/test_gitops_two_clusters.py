"""Two clusters, one GitOps repository (real, bare, on disk), the same namespace and name in
each: real Redis, the real service and router. Each cluster's workload has its own apply lock
and its own pointer, and its own file on its own branch."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis as redis_lib

from bot.approvals.locks import WorkloadLocks
from bot.approvals.models import Proposal, ProposalState
from bot.approvals.store import ProposalStore
from bot.clusters import ClusterSet, ClusterSpec
from bot.executors.gitops import branch_name
from bot.executors.router import ClusterRouter
from bot.service import Busy, ProposalService
from tests.approvals.doubles import make_service, redis_prefix
from tests.gitops.conftest import Remote, make_gitops
from tools.propose import SizeRequest

S = ProposalState
CLUSTERS = ClusterSet(
    clusters=(ClusterSpec(name="east"), ClusterSpec(name="west")), default="east", from_file=True
)


def _ask(cluster: str, rps: float) -> SizeRequest:
    return SizeRequest(
        name="items-api",
        namespace="team-a",
        language="python",
        rps_low=rps,
        rps_high=rps,
        cluster=cluster,
        image="ghcr.io/acme/items-api:1.4.2",
    )


def _rolled_out(service: ProposalService, submitted: Proposal) -> Proposal:
    """The pull request merged and the controller rolled it out (what the follower records)."""
    merged = service.record_review(submitted, "merged")
    assert merged is not None and merged.state == S.MERGED
    return service.record_rollout(merged)


def test_two_clusters_with_the_same_workload_neither_wait_for_nor_overwrite_each_other(
    remote: Remote, tmp_path: Path
) -> None:
    router = ClusterRouter(
        {
            "east": make_gitops(remote, tmp_path / "east", cluster="east"),
            "west": make_gitops(remote, tmp_path / "west", cluster="west"),
        },
        "east",
    )
    with redis_prefix() as (client, prefix):
        service = make_service(client, prefix, router, clusters=CLUSTERS)
        east = service.size(_ask("east", 40), "UREQUESTER")
        west = service.size(_ask("west", 900), "UREQUESTER")
        assert east.current.change.git_base is not None
        assert east.current.change.git_base.path == "east/team-a/items-api.yaml"

        # another apply of east's items-api holds east's lock: east waits, west goes ahead
        locks = WorkloadLocks(client, prefix, 5, "east")
        other = locks.acquire("team-a", "items-api", "p-0therapp", cluster="east")
        assert other is not None
        busy = r"another change to team-a/items-api on east \(p-0therapp\)"
        with pytest.raises(Busy, match=busy):
            service.approve(east.card_ref(), "UAPPROVER")
        west_done = service.approve(west.card_ref(), "UAPPROVER")
        assert west_done.state == S.SUBMITTED, west_done.result
        assert other.release()
        east_done = service.approve(east.card_ref(), "UAPPROVER")
        assert east_done.state == S.SUBMITTED, east_done.result

        # each cluster's branch holds its own file, exactly its own manifest
        east_branch, west_branch = branch_name(east.id, 1), branch_name(west.id, 1)
        assert remote.branches() == sorted(["main", east_branch, west_branch])
        assert remote.show(east_branch, "east/team-a/items-api.yaml") == (
            east.current.change.manifest_yaml
        )
        assert remote.show(west_branch, "west/team-a/items-api.yaml") == (
            west.current.change.manifest_yaml
        )
        assert east.current.change.manifest_yaml != west.current.change.manifest_yaml

        # both roll out; each cluster's pointer names its own proposal
        west_applied = _rolled_out(service, west_done)
        east_applied = _rolled_out(service, east_done)
        store = ProposalStore(client, prefix, "east")
        assert store.find("items-api", "team-a", cluster="east") == (east_applied, True)
        assert store.find("items-api", "team-a", cluster="west") == (west_applied, True)
        assert _pointer(client, prefix, "team-a/items-api") == east.id
        assert _pointer(client, prefix, "team-a/items-api@west") == west.id
        # the answer to `why` names the cluster it is about
        assert service.why(west.id).proposal.cluster == "west"


def _pointer(client: redis_lib.Redis, prefix: str, slot: str) -> str | None:
    value = client.hget(f"{prefix}workload:{slot}", "applied")
    return str(value) if value is not None else None


def test_a_retry_with_more_memory_stays_on_its_cluster_and_keeps_its_image(
    remote: Remote, tmp_path: Path
) -> None:
    router = ClusterRouter(
        {
            "east": make_gitops(remote, tmp_path / "east", cluster="east"),
            "west": make_gitops(remote, tmp_path / "west", cluster="west"),
        },
        "east",
    )
    with redis_prefix() as (client, prefix):
        service = make_service(client, prefix, router, clusters=CLUSTERS)
        west = service.size(_ask("west", 40), "UREQUESTER")
        remote.commit_on_main("west/team-a/items-api.yaml", "kind: Deployment\n")
        failed = service.approve(west.card_ref(), "UAPPROVER")
        assert failed.state == S.FAILED and failed.result is not None
        assert failed.result.failed_step == "conflict"

        retried = service.retry_with_more_memory(west.id, "UREQUESTER")
        assert retried.cluster == "west"
        base = retried.current.change.git_base
        assert base is not None and base.path == "west/team-a/items-api.yaml"
        assert "image: ghcr.io/acme/items-api:1.4.2" in retried.current.change.manifest_yaml
        done = service.approve(retried.card_ref(), "UAPPROVER")
        assert done.state == S.SUBMITTED, done.result
        assert remote.show(branch_name(retried.id, 1), "west/team-a/items-api.yaml") == (
            retried.current.change.manifest_yaml
        )
        assert not remote.has_branch(branch_name(west.id, 1))
