"""Test doubles passed in through constructors: a recording executor, a group directory,
a settable clock, and a Redis key prefix that is cleaned up after each test."""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import redis as redis_lib

from bot.approvals.access import AccessConfig
from bot.approvals.locks import WorkloadLocks
from bot.approvals.store import ProposalStore
from bot.clusters import ClusterSet
from bot.executors.base import (
    ApplyRequest,
    ApplyResult,
    ApplyStep,
    Executor,
    FitReport,
    Lease,
    PreparedChange,
    PrepareRequest,
    Progress,
)
from bot.feedback.spec import job_namespace
from bot.service import LiveUsage, ProposalService
from tools.catalog import PeerCatalog, load_catalog
from tools.sizing.models import Policy
from tools.sizing.outcomes import OutcomeCalibration

REDIS_URL = "redis://127.0.0.1:6379/0"
_CATALOG = load_catalog()


class RecordingExecutor:
    """Renders a tiny manifest, records every call, and checks hashes on apply as required."""

    def __init__(self, plan_dir: Path | None = None) -> None:
        self.prepared: list[PrepareRequest] = []
        self.applied: list[ApplyRequest] = []
        self.finished: list[ApplyRequest] = []  # reached the end with the lease still held
        self.check_lease_at_end = True  # False: the last step ended before anything failed
        self.outcome = ApplyResult(ok=True, steps=[ApplyStep(name="kubernetes", ok=True)])
        self.raise_on_apply: Exception | None = None
        self.raise_on_prepare: Exception | None = None
        self.gate: threading.Event | None = None
        self.started = threading.Event()
        self.plan_dir = plan_dir
        self.fits_replicas: int | None = None  # preflight: more replicas do not fit
        self._lock = threading.Lock()

    def prepare(self, request: PrepareRequest) -> PreparedChange:
        if self.raise_on_prepare is not None:
            raise self.raise_on_prepare
        with self._lock:
            self.prepared.append(request)
        manifest = (
            f"kind: Deployment\nmetadata: {{name: {request.workload}, namespace: "
            f"{request.namespace}}}\nimage: {request.image or ''}\nreplicas: {request.replicas}\n"
            f"cpu: {request.cpu_request}/{request.cpu_limit}\n"
            f"memory: {request.memory_request}/{request.memory_limit}\n"
        )
        misfits: tuple[str, ...] = ()
        most: int | None = None
        if self.fits_replicas is not None and request.replicas > self.fits_replicas:
            misfits = (f"quota: {request.replicas} pods exceed the {self.fits_replicas} left",)
            most = self.fits_replicas
        fit = FitReport(
            max_replicas=most,
            quota_cpu=8.0,
            quota_memory=16 * 2**30,
            cluster_cpu=48.0,
            cluster_memory=192 * 2**30,
        )
        plan_path = plan_sha = None
        if self.plan_dir is not None:
            # One file per plan, as the Terraform runner keeps one directory per plan.
            unique = uuid.uuid4().hex[:8]
            plan = self.plan_dir / f"{request.proposal_id}-{request.revision}-{unique}.tfplan"
            plan.write_bytes(manifest.encode() + b"plan")
            plan_path, plan_sha = str(plan), hashlib.sha256(plan.read_bytes()).hexdigest()
        return PreparedChange(
            manifest_yaml=manifest,
            manifest_sha256=hashlib.sha256(manifest.encode()).hexdigest(),
            plan_summary="Plan: 1 to add, 0 to change, 0 to destroy.",
            plan_path=plan_path,
            plan_sha256=plan_sha,
            objects=(f"Deployment/{request.namespace}/{request.workload}",),
            preflight=misfits,
            fit=fit,
        )

    def apply(
        self, request: ApplyRequest, progress: Progress, lease: Lease | None = None
    ) -> ApplyResult:
        with self._lock:
            self.applied.append(request)
        if lease is not None:
            lease.check()
        self.started.set()
        digest = hashlib.sha256(request.change.manifest_yaml.encode()).hexdigest()
        if digest != request.change.manifest_sha256:
            return ApplyResult(ok=False, error="manifest hash mismatch")
        progress(f"applying {request.workload}")
        if self.gate is not None:
            self.gate.wait(10)
        if lease is not None and self.check_lease_at_end:
            lease.check()  # a real executor checks before each step that acts
        with self._lock:
            self.finished.append(request)
        if self.raise_on_apply is not None:
            raise self.raise_on_apply
        return self.outcome


class Groups:
    def __init__(self, members: dict[str, frozenset[str]] | None = None) -> None:
        self._members = members or {}

    def members(self, group_id: str) -> frozenset[str]:
        return self._members.get(group_id, frozenset())


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@contextmanager
def redis_prefix() -> Iterator[tuple[redis_lib.Redis, str]]:
    client = redis_lib.Redis.from_url(REDIS_URL, decode_responses=True)
    prefix = f"sizer-test:{uuid.uuid4().hex[:12]}:"
    try:
        yield client, prefix
    finally:
        keys = list(client.scan_iter(match=prefix + "*", count=500))
        # rq's keys (scheduled checks) carry the prefix in the queue name or its job-id tag
        keys += client.scan_iter(match=f"rq:*{prefix}*", count=500)
        keys += client.scan_iter(match=f"rq:*{job_namespace(prefix)}*", count=500)
        if keys:
            client.delete(*keys)
        client.close()


ACCESS = AccessConfig.model_validate(
    {
        "namespaces": {
            "team-a": {
                "approvers": {"users": ["UAPPROVER", "UREQ2"], "groups": ["SPLATFORM"]},
                "capacity": {"max_replicas": 10, "max_pod_memory": "4Gi", "cpu": "8"},
            },
            "sandbox": {"approvers": {"users": ["UREQUESTER"]}, "self_approval": True},
        }
    }
)


def catalog() -> PeerCatalog:
    return _CATALOG


def make_service(
    client: redis_lib.Redis,
    prefix: str,
    executor: Executor,
    *,
    clock: Clock | None = None,
    access: AccessConfig = ACCESS,
    groups: Groups | None = None,
    lock_ttl_s: float = 5,
    live_usage: LiveUsage | None = None,
    learned: Callable[[], OutcomeCalibration] | None = None,
    clusters: ClusterSet | None = None,
) -> ProposalService:
    """The service on real Redis; with ``clusters``, keyed by cluster as the wiring does."""
    default = (clusters.default or clusters.names[0]) if clusters is not None else None
    return ProposalService(
        store=ProposalStore(client, prefix, default),
        locks=WorkloadLocks(client, prefix, lock_ttl_s, default),
        executor=executor,
        access=access,
        groups=groups or Groups({"SPLATFORM": frozenset({"UGROUPMEMBER"})}),
        catalog=catalog,
        policy=Policy(),
        proposal_ttl_s=3600,
        clock=clock or time.time,
        live_usage=live_usage,
        learned=learned,
        clusters=clusters,
    )
