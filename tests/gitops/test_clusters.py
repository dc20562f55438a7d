"""Several clusters from the clusters file: each proposal names its cluster, is approved by
that cluster's approvers, and is applied only to its own cluster (two Kubernetes emulators,
the real Ansible render and Terraform engine, real Redis)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bot.approvals.models import ProposalState
from bot.clusters import ClustersError, cluster_first, load_clusters
from bot.executors.router import ClusterRouter
from bot.service import InputError, NotAuthorised, ProposalService
from bot.settings import Settings
from bot.wiring import Components, StartupError
from tests.approvals.doubles import redis_prefix
from tests.emulators.kube_api import KubeEmulator
from tests.executors.conftest import NAMESPACE, make_settings
from tests.executors.conftest import terraform_bin as terraform_bin
from tools.catalog import PeerCatalog, load_catalog
from tools.propose import SizeRequest
from tools.sizing.quantities import parse_memory

ACCESS = """
clusters:
  east:
    namespaces:
      team-a: {approvers: {users: [UEAST]}}
  west:
    default: {approvers: {users: [UWEST]}}
"""


def _emulator() -> KubeEmulator:
    emu = KubeEmulator(kubernetes_version="1.31")
    for index in range(3):
        emu.add_node(f"hv-{index + 1}", cpu="8", memory="32Gi")
    emu.add_namespace(NAMESPACE)
    emu.start()
    return emu


@pytest.fixture
def fleet() -> Iterator[dict[str, KubeEmulator]]:
    emulators = {"east": _emulator(), "west": _emulator()}
    yield emulators
    for emu in emulators.values():
        emu.stop()


def _kubeconfig(path: Path, emulators: dict[str, KubeEmulator]) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": n, "cluster": {"server": e.url}} for n, e in emulators.items()],
        "users": [{"name": "sizer", "user": {"token": "t"}}],
        "contexts": [
            {"name": f"ctx-{n}", "context": {"cluster": n, "user": "sizer"}} for n in emulators
        ],
        "current-context": "ctx-east",
    }
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def parts(
    tmp_path: Path, terraform_bin: str, fleet: dict[str, KubeEmulator]
) -> Iterator[Components]:
    kubeconfig = _kubeconfig(tmp_path / "kubeconfig", fleet)
    clusters = tmp_path / "clusters.yaml"
    clusters.write_text(
        "clusters:\n"
        "  - {name: east, context: ctx-east, prometheus_url: 'http://prom.east:9090',\n"
        f"     history: {tmp_path / 'east-catalog.json'}}}\n"
        "  - {name: west, context: ctx-west}\n"
    )
    access = tmp_path / "access.yaml"
    access.write_text(ACCESS)
    _east_history(tmp_path / "east-catalog.json")
    with redis_prefix() as (client, prefix):
        settings = make_settings(
            tmp_path,
            terraform_bin,
            KUBECONFIG=str(kubeconfig),
            SIZER_CLUSTERS_FILE=str(clusters),
            SIZER_ACCESS_FILE=str(access),
            SIZER_REDIS_PREFIX=prefix,
        )
        yield Components(settings, redis=client)


@pytest.fixture
def service(parts: Components) -> ProposalService:
    assert isinstance(parts.executor, ClusterRouter)
    return parts.service


def test_readers_are_built_per_cluster(parts: Components, fleet: dict[str, KubeEmulator]) -> None:
    fleet["west"].add_node("west-only", cpu="4", memory="8Gi")
    assert "west-only" in {n.name for n in parts.cluster_reader("west").nodes()}
    assert "west-only" not in {n.name for n in parts.cluster_reader("east").nodes()}
    assert parts.cluster is parts.cluster_reader("east")  # the first cluster for the agent
    east = parts.history_for("east")
    assert east is not None and parts.history is east
    assert parts.history_for("west") is None


def _east_history(path: Path) -> None:
    """East's own recommendationservice uses four times the memory of the shared one."""
    shared = load_catalog().get("recommendationservice")
    assert shared is not None
    scaled = {k: getattr(shared, k) * 4 for k in ("mem_p50", "mem_p95", "mem_max")}
    path.write_text(PeerCatalog((shared.model_copy(update=scaled),), "east").to_json())


def _ask(cluster: str | None) -> SizeRequest:
    return SizeRequest(
        name="items-api",
        namespace=NAMESPACE,
        language="python",
        rps_low=20,
        rps_high=40,
        similar=("recommendationservice",),
        cluster=cluster,
        image="nginxinc/nginx-unprivileged:1.27-alpine",
    )


def test_each_proposal_is_applied_only_to_its_own_cluster(
    service: ProposalService, fleet: dict[str, KubeEmulator]
) -> None:
    key = ("deployments", NAMESPACE, "items-api")
    east = service.size(_ask("east"), "UREQUESTER")
    assert east.cluster == "east"
    with pytest.raises(NotAuthorised, match="not an approver"):
        service.approve(east.card_ref(), "UWEST")
    done = service.approve(east.card_ref(), "UEAST")
    assert done.state == ProposalState.APPLIED, done.result
    assert key in fleet["east"].objects and key not in fleet["west"].objects
    annotations = fleet["east"].objects[key]["metadata"]["annotations"]
    assert annotations["sizer.dev/proposal-id"] == east.id

    west = service.size(_ask("west"), "UREQUESTER")
    done = service.approve(west.card_ref(), "UWEST")
    assert done.state == ProposalState.APPLIED, done.result
    live_west = fleet["west"].objects[key]["metadata"]["annotations"]
    assert live_west["sizer.dev/proposal-id"] == west.id
    # east still runs east's proposal
    assert fleet["east"].objects[key]["metadata"]["annotations"]["sizer.dev/proposal-id"] == east.id
    assert service.why(west.id).proposal.cluster == "west"

    # peers from the same cluster first: east's own recommendationservice is the bigger one
    east_memory = parse_memory(east.current.sizing.memory_request)
    assert east_memory > 2 * parse_memory(west.current.sizing.memory_request)
    audit = service.trail(east.id)
    assert {e.cluster for e in audit} == {"east"}
    assert "team-a/items-api@east" in audit[-1].line()


def test_cluster_first_prefers_the_clusters_own_profile_by_name() -> None:
    shared = load_catalog()
    own_rec = shared.get("cartservice")
    assert own_rec is not None
    own = PeerCatalog((own_rec.model_copy(update={"pods": 99}),), "east")
    merged = cluster_first(own, shared, "east")
    assert merged.profiles[0].pods == 99 and len(merged) == len(shared)
    found = merged.get("cartservice")
    assert found is not None and found.pods == 99


def test_a_request_naming_no_cluster_is_asked_which(service: ProposalService) -> None:
    with pytest.raises(InputError, match="which cluster\\? I serve east, west; add `--cluster"):
        service.size(_ask(None), "UREQUESTER")
    with pytest.raises(InputError, match="no cluster 'north'; known clusters: east, west"):
        service.size(_ask("north"), "UREQUESTER")


def test_gitops_clusters_may_share_a_path_only_through_cluster(tmp_path: Path) -> None:
    path = tmp_path / "clusters.yaml"
    path.write_text(
        "clusters:\n"
        "  - {name: a, apply_mode: gitops}\n"  # SIZER_GITOPS_PATH: {cluster}/{namespace}/…
        "  - {name: b, apply_mode: gitops}\n"
        "  - {name: c, apply_mode: gitops, gitops_path: 'c/{namespace}/{name}.yaml'}\n"
        "  - {name: d, gitops_path: 'c/{namespace}/{name}.yaml'}\n"  # direct: writes no file
    )
    settings = Settings.load(SIZER_CLUSTERS_FILE=str(path))
    clusters = load_clusters(settings.cluster, settings.prometheus, settings.gitops)
    assert clusters.names == ("a", "b", "c", "d")


def test_no_clusters_file_is_one_cluster_named_default() -> None:
    settings = Settings.load()
    clusters = load_clusters(settings.cluster, settings.prometheus, settings.gitops)
    assert clusters.names == ("default",) and not clusters.from_file
    assert clusters.choose(None).name == "default"
    assert clusters.clusters[0].in_cluster and clusters.clusters[0].apply_mode == "direct"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("clusters: []", "clusters: Tuple should have at least 1 item"),
        ("clusters:\n  - {name: a}\n  - {name: a}", "cluster a is listed twice"),
        ("clusters:\n  - {name: a, in_cluster: true, context: x}", "takes no context"),
        ("clusters:\n  - {name: A_1}", "clusters.0.name"),
        ("clusters:\n  - {name: a, apply_mode: yolo}", "clusters.0.apply_mode"),
        ("clusters:\n  - {name: a, gitops_path: '{team}.yaml'}", "unknown placeholder {team}"),
        ("default: b\nclusters:\n  - {name: a}", "default: b is not one of the clusters"),
        (
            "clusters:\n  - {name: a, apply_mode: gitops, gitops_path: 'apps/{name}.yaml'}\n"
            "  - {name: b, apply_mode: gitops, gitops_path: 'apps/{name}.yaml'}",
            "clusters a and b would write the same file apps/{name}.yaml in the GitOps "
            "repository; put {cluster} in gitops_path",
        ),
        ("clusters: [", "is not valid YAML"),
    ],
)
def test_a_bad_clusters_file_names_what_to_fix(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "clusters.yaml"
    path.write_text(body)
    settings = Settings.load(SIZER_CLUSTERS_FILE=str(path))
    with pytest.raises(ClustersError) as caught:
        load_clusters(settings.cluster, settings.prometheus, settings.gitops)
    assert message in str(caught.value)
    with pytest.raises(StartupError, match="SIZER_CLUSTERS_FILE"):
        Components(settings).clusters  # noqa: B018
