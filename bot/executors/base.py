"""The seam between an approved proposal and the systems that carry it out.

The approval path hands an :class:`ApplyRequest` to an :class:`Executor`; nothing else may.
``prepare`` runs when a proposal is made (render + plan, no side effects on the cluster) and
its output, hashed, is what the card shows; ``apply`` receives exactly that output back and
must refuse if the hashes no longer match.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from tools.sizing.models import Reason

Progress = Callable[[str], None]


class LeaseLost(Exception):
    """The apply no longer holds its workload's lock: it must stop before its next step."""


class Lease(Protocol):
    """The right to keep applying one workload; checked before every step that acts."""

    def check(self) -> None:
        """Raise :class:`LeaseLost` unless the lock is still certainly held."""
        ...


class PrepareRequest(BaseModel):
    """What the executors need to render and plan a proposal (per-pod sizes, per workload)."""

    model_config = ConfigDict(frozen=True)

    proposal_id: str
    revision: int = Field(ge=1)
    workload: str
    namespace: str
    # None until the request names one: such a proposal can be shown but never applied.
    image: str | None = None
    replicas: int = Field(ge=1)
    cpu_request: str
    cpu_limit: str | None
    memory_request: str
    memory_limit: str | None
    stateful: bool = False
    storage_request: str | None = None
    hpa: bool = False
    labels: dict[str, str] = Field(default_factory=dict)
    port: int = Field(8080, ge=1, le=65535)
    probe_path: str | None = Field(None, max_length=200, pattern=r"^/[A-Za-z0-9._~/-]*$")
    hpa_max_replicas: int | None = Field(None, ge=1)
    hpa_cpu_utilization: int = Field(70, ge=1, le=100)
    storage_backend: Literal["ceph", "nfs"] = "ceph"
    load_balancer: bool = False
    load_balancer_ip: str | None = None
    # Which cluster the change is for; None: the only one.
    cluster: str | None = None


class GitBase(BaseModel):
    """In ``gitops`` mode: where the manifest will be committed, and the base it was made on.

    ``blob`` is the file's git object id on the base when the proposal was prepared (None: the
    file did not exist); a different id at approval time is a conflict, never overwritten.
    """

    model_config = ConfigDict(frozen=True)

    repo: str
    branch: str
    path: str
    commit: str
    blob: str | None = None
    provider: Literal["none", "github", "gitlab"] = "none"


class FitReport(BaseModel):
    """Room for the workload next to its size, read at prepare time, for the card.

    CPU in cores and memory in bytes; ``None`` where the cluster sets no such bound.
    """

    model_config = ConfigDict(frozen=True)

    # The most replicas of this pod size that fit right now; None when all of them fit.
    max_replicas: int | None = None
    quota_cpu: float | None = None
    quota_memory: float | None = None
    cluster_cpu: float | None = None
    cluster_memory: float | None = None


class PreparedChange(BaseModel):
    """What the card shows and what apply must use, byte for byte."""

    model_config = ConfigDict(frozen=True)

    manifest_yaml: str
    manifest_sha256: str
    plan_summary: str
    plan_path: str | None = None
    plan_sha256: str | None = None
    objects: tuple[str, ...] = ()
    # The inputs the manifest was rendered from, so apply can re-render and compare.
    request: PrepareRequest | None = None
    # What does not fit the namespace quota or the nodes; empty when everything fits.
    preflight: tuple[str, ...] = ()
    fit: FitReport | None = None
    # In ``gitops`` mode, where the manifest goes; None in ``direct`` mode.
    git_base: GitBase | None = None


class ApplyRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    proposal_id: str
    revision: int
    workload: str
    namespace: str
    approved_by: str
    change: PreparedChange
    cluster: str | None = None
    # What the card said, for a commit message or pull request that must say it too.
    confidence: float | None = None
    reasons: tuple[Reason, ...] = ()


ChangeRequestState = Literal["open", "merged", "closed"]


class ChangeRequest(BaseModel):
    """What a ``gitops`` apply produced: a pushed branch and, with a provider, its PR/MR."""

    provider: Literal["none", "github", "gitlab"]
    repo: str
    branch: str
    base: str
    path: str
    commit: str
    number: int | None = None
    url: str | None = None
    state: ChangeRequestState = "open"


class ApplyStep(BaseModel):
    name: str
    ok: bool
    detail: str = ""


class ApplyResult(BaseModel):
    ok: bool
    steps: list[ApplyStep] = Field(default_factory=list)
    error: str | None = None
    failed_step: str | None = None
    rolled_back: bool = False
    # Live objects as they were before the apply, for the audit and for rollback.
    previous_manifest_yaml: str | None = None
    # ``gitops`` mode: the branch and pull request the change went to instead of the cluster.
    change_request: ChangeRequest | None = None
    # ``gitops`` mode: what changed on the base since the proposal, when that stopped it.
    conflict_diff: str | None = None


class Executor(Protocol):
    def prepare(self, request: PrepareRequest) -> PreparedChange: ...

    def apply(
        self, request: ApplyRequest, progress: Progress, lease: Lease | None = None
    ) -> ApplyResult: ...
