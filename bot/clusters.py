"""The clusters Sizer serves: one by default, several from the clusters file.

Without ``SIZER_CLUSTERS_FILE`` there is one cluster, named ``SIZER_CLUSTER_NAME``
(``default``), reached through ``KUBECONFIG`` or the in-cluster service account, with
``PROMETHEUS_URL`` and ``SIZER_APPLY_MODE``. With the file (YAML)::

    default: prod-a              # used when a request names no cluster; omit to always ask
    clusters:
      - name: prod-a
        context: prod-a          # a kubeconfig context (KUBECONFIG, or kubeconfig: below)
        prometheus_url: http://prometheus.prod-a:9090
        apply_mode: gitops       # direct | gitops (default: SIZER_APPLY_MODE)
        gitops_path: "clusters/prod-a/{namespace}/{name}.yaml"   # default: SIZER_GITOPS_PATH
        history: /var/lib/sizer/prod-a-catalog.json   # its own peers, preferred when sizing
      - name: edge
        in_cluster: true         # the service account of the pod Sizer runs in

A proposal names its cluster; :meth:`ClusterSet.choose` says which, or asks when it cannot tell.
Peers come from the cluster's own history first (:func:`cluster_first`), then the shared one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from bot.settings import (
    PROMETHEUS_URL_SETTING,
    ClusterSettings,
    GitOpsSettings,
    PrometheusSettings,
    check_path_template,
)
from tools.sizing.models import Dns1123Label

if TYPE_CHECKING:
    from tools.catalog import PeerCatalog

__all__ = [
    "ClusterChoiceError",
    "ClusterSet",
    "ClusterSpec",
    "ClustersError",
    "cluster_first",
    "load_clusters",
]


class ClustersError(ValueError):
    """The clusters file cannot be read or is not valid; the message says where."""


class ClusterChoiceError(ValueError):
    """A request names no cluster (and several could be meant) or one that is not known."""


class ClusterSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Dns1123Label
    context: str | None = Field(None, min_length=1, max_length=253)
    kubeconfig: Path | None = None
    in_cluster: bool = False
    prometheus_url: str | None = Field(None, pattern=r"^https?://\S+$")
    apply_mode: Literal["direct", "gitops"] | None = None
    gitops_path: Annotated[str, AfterValidator(check_path_template)] | None = None
    history: Path | None = Field(
        None, description="this cluster's own peer history (trace directory or catalog JSON)"
    )

    @model_validator(mode="after")
    def _one_way_in(self) -> ClusterSpec:
        if self.in_cluster and (self.context or self.kubeconfig):
            raise ValueError("in_cluster: true takes no context or kubeconfig")
        return self


class ClusterSet(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    clusters: tuple[ClusterSpec, ...] = Field(min_length=1)
    default: Dns1123Label | None = None
    from_file: bool = Field(False, exclude=True)
    path: Path | None = Field(None, exclude=True, description="the clusters file read, if any")

    @model_validator(mode="after")
    def _names(self) -> ClusterSet:
        names = [c.name for c in self.clusters]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"cluster {twice[0]} is listed twice")
        if self.default is not None and self.default not in names:
            raise ValueError(f"default: {self.default} is not one of the clusters")
        return self

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.clusters)

    def get(self, name: str) -> ClusterSpec:
        for spec in self.clusters:
            if spec.name == name:
                return spec
        raise ClusterChoiceError(f"no cluster {name!r}; known clusters: {', '.join(self.names)}")

    def prometheus_source(self, name: str) -> str:
        """Where cluster ``name``'s ``prometheus_url`` was set, as errors about it name it."""
        if self.path is None:
            return PROMETHEUS_URL_SETTING
        return f"prometheus_url of cluster {name} in {self.path}"

    def choose(self, requested: str | None) -> ClusterSpec:
        """The cluster a request means: the one named, the default, or the only one."""
        if requested:
            return self.get(requested)
        if self.default is not None:
            return self.get(self.default)
        if len(self.clusters) == 1:
            return self.clusters[0]
        raise ClusterChoiceError(
            f"which cluster? I serve {', '.join(self.names)}; add `--cluster NAME`"
        )


def load_clusters(
    cluster: ClusterSettings, prometheus: PrometheusSettings, gitops: GitOpsSettings
) -> ClusterSet:
    """The clusters file with its defaults filled in, or the single configured cluster."""
    if cluster.clusters_file is None:
        return ClusterSet(
            clusters=(
                ClusterSpec(
                    name=cluster.name,
                    kubeconfig=cluster.kubeconfig,
                    in_cluster=cluster.kubeconfig is None,
                    prometheus_url=prometheus.url,
                    apply_mode=gitops.apply_mode,
                    gitops_path=gitops.path,
                ),
            )
        )
    path = cluster.clusters_file
    try:
        body = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        parsed = ClusterSet.model_validate(body)
    except OSError as exc:
        raise ClustersError(f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ClustersError(f"{path} is not valid YAML: {exc}") from None
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"]) or "top level"
        raise ClustersError(f"{path}: {where}: {error['msg']}") from None
    filled = tuple(
        spec.model_copy(
            update={
                "kubeconfig": spec.kubeconfig or (None if spec.in_cluster else cluster.kubeconfig),
                "apply_mode": spec.apply_mode or gitops.apply_mode,
                "gitops_path": spec.gitops_path or gitops.path,
            }
        )
        for spec in parsed.clusters
    )
    _own_files(path, filled)
    return parsed.model_copy(update={"clusters": filled, "from_file": True, "path": path})


def _own_files(path: Path, clusters: tuple[ClusterSpec, ...]) -> None:
    """GitOps clusters share one repository: each must write its own files there."""
    seen: dict[str, str] = {}
    for spec in clusters:
        template = spec.gitops_path or ""
        if spec.apply_mode != "gitops" or "{cluster}" in template:
            continue
        other = seen.setdefault(template, spec.name)
        if other != spec.name:
            raise ClustersError(
                f"{path}: clusters {other} and {spec.name} would write the same file "
                f"{template} in the GitOps repository; put {{cluster}} in gitops_path"
            )


def cluster_first(own: PeerCatalog, shared: PeerCatalog, cluster: str) -> PeerCatalog:
    """The cluster's own peers, then the shared ones it does not have (its own win by name).

    A ``--similar`` service and any peer known in both are taken from the cluster the change
    is for, where it runs on the same nodes, storage and traffic.
    """
    from tools.catalog import PeerCatalog

    names = {p.meta.name for p in own}
    rest = tuple(p for p in shared if p.meta.name not in names)
    return PeerCatalog(own.profiles + rest, f"{cluster}: {own.source}; then {shared.source}")
