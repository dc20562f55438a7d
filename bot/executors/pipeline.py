"""The Executor: a proposal's render and plan, then after approval its apply, step by step.

``prepare`` (when the proposal is made; reads the cluster, changes nothing):
render (Ansible) → validate (official schemas) → pre-flight (quota, nodes) → plan (Terraform).

``apply`` (after an authorised click), in this order, stopping at the first failure:

1. render     the stored manifest still has the hash shown, and re-rendering the stored inputs
              gives the same bytes (templates unchanged since the card was shown)
2. validate   schemas again, for the pinned Kubernetes version
3. preflight  the workload still fits the namespace quota and the nodes
4. terraform  the saved plan, hash checked; a stale plan is refused
5. dry-run    server-side apply with ``dryRun=All`` for every object
6. apply      server-side apply for real (objects applied so far are rolled back on error)
7. rollout    watched until ready; on failure every object is rolled back

Every step lands in ``ApplyResult.steps`` and on ``progress``; the failing one names itself in
``failed_step`` with ``error``. Terraform changes are not undone by a later failure: the error
says they stay, so nothing half-applied goes unreported.

The workload lock's lease is checked before every step, before each object is applied and on
every turn of the rollout watch. A lost lease stops the apply where it is, without a rollback
(another apply may own the workload by then), and the error says what was left in place.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from typing import Any

import yaml
from kubernetes.client import ApiException
from urllib3.exceptions import HTTPError

from bot.executors.ansible import AnsibleRenderer
from bot.executors.base import (
    ApplyRequest,
    ApplyResult,
    ApplyStep,
    Lease,
    LeaseLost,
    PreparedChange,
    PrepareRequest,
    Progress,
)
from bot.executors.errors import StepFailed
from bot.executors.image import check_image
from bot.executors.kubernetes import KubeApi, rollback, sanitize_live
from bot.executors.preflight import assess, preflight
from bot.executors.rollout import watch_rollout
from bot.executors.terraform import TerraformRunner, terraform_variables
from bot.executors.validate import object_ref, validate_manifest
from bot.observability.metrics import timed_step
from bot.settings import ClusterSettings, ExecutorSettings

__all__ = ["PipelineExecutor", "sha256_text"]

_WORKLOAD_KINDS = ("Deployment", "StatefulSet")


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _quiet(_: str) -> None:
    return None


def _api_message(exc: ApiException) -> str:
    try:
        body = json.loads(exc.body or "{}")
        return f"{exc.status} {body.get('reason', '')}: {body.get('message', exc.reason)}"
    except (ValueError, AttributeError):
        return f"{exc.status} {exc.reason}"


class PipelineExecutor:
    """Ansible, Terraform and the Kubernetes API, composed in the order the design requires."""

    def __init__(
        self,
        settings: ExecutorSettings,
        *,
        kube: KubeApi,
        renderer: AnsibleRenderer | None = None,
        terraform: TerraformRunner | None = None,
    ) -> None:
        self.settings = settings
        self.kube = kube
        self.renderer = renderer or AnsibleRenderer.from_settings(settings)
        self.terraform = terraform or TerraformRunner.from_settings(settings)

    @classmethod
    def from_settings(
        cls, settings: ExecutorSettings, cluster: ClusterSettings
    ) -> PipelineExecutor:
        kube = KubeApi.from_kubeconfig(cluster.kubeconfig, field_manager=settings.field_manager)
        return cls(settings, kube=kube)

    # proposal time

    def prepare(self, request: PrepareRequest, progress: Progress | None = None) -> PreparedChange:
        """Render, validate, check fit and plan; raises StepFailed naming the step that failed."""
        report = progress or _quiet
        manifest = self.renderer.render(request, report)
        docs = validate_manifest(manifest, self.settings.kubernetes_version)
        try:
            misfits, fit = assess(self.kube, docs)
            manage = self._manage_namespace(request)
        except ApiException as exc:
            raise StepFailed("preflight", f"cluster read failed: {_api_message(exc)}") from exc
        except HTTPError as exc:
            raise StepFailed("preflight", f"cluster unreachable: {exc}") from exc
        storage_class = self.settings.storage_classes.get(request.storage_backend, "")
        variables = terraform_variables(
            request,
            manage_namespace=manage,
            storage_class=storage_class,
            headroom=self.settings.quota_headroom,
        )
        plan = self.terraform.plan(request, variables)
        report(plan.summary.splitlines()[0])
        return PreparedChange(
            manifest_yaml=manifest,
            manifest_sha256=sha256_text(manifest),
            plan_summary=plan.summary,
            plan_path=plan.path,
            plan_sha256=plan.sha256,
            objects=tuple(object_ref(doc) for doc in docs),
            request=request,
            preflight=tuple(misfits),
            fit=fit,
        )

    def _manage_namespace(self, request: PrepareRequest) -> bool:
        """Terraform owns the namespace when it is new, or when it created it for this workload."""
        live = self.kube.namespace(request.namespace)
        if live is None:
            return True
        annotations = live.get("metadata", {}).get("annotations") or {}
        return bool(annotations.get("sizer.dev/owner") == f"{request.namespace}/{request.workload}")

    # approval time

    def apply(
        self, request: ApplyRequest, progress: Progress, lease: Lease | None = None
    ) -> ApplyResult:
        run = _Run(progress, lease)
        change = request.change
        try:
            run.step("render", lambda: self._check_render(request, progress))
            docs: list[dict[str, Any]] = run.step(
                "validate", lambda: self._validate(change.manifest_yaml)
            )
            run.step("preflight", lambda: self._preflight(docs))
            run.step("terraform", lambda: self._terraform(change, progress))
            run.step("dry-run", lambda: self._dry_run(docs))
            run.step("apply", lambda: self._apply_all(docs, run, progress))
            workload = next((d for d in docs if d.get("kind") in _WORKLOAD_KINDS), None)
            if workload is not None:
                try:
                    run.step("rollout", lambda: self._rollout(request, workload, run))
                except StepFailed:
                    run.rolled_back = self._rollback(run.snapshots, progress, run)
                    raise
        except StepFailed as exc:
            return run.failed(exc)
        except LeaseLost as exc:
            return run.lease_lost(exc)
        return run.result(ok=True)

    def _check_render(self, request: ApplyRequest, progress: Progress) -> str:
        change = request.change
        check_image(change)
        if sha256_text(change.manifest_yaml) != change.manifest_sha256:
            raise StepFailed("render", "stored manifest does not match the hash that was shown")
        source = change.request
        if source is None:
            return f"manifest sha256 {change.manifest_sha256[:12]} matches what was shown"
        identity = (source.proposal_id, source.revision, source.workload, source.namespace)
        if identity != (request.proposal_id, request.revision, request.workload, request.namespace):
            raise StepFailed("render", "the change belongs to another proposal or revision")
        again = self.renderer.render(source, progress)
        if again != change.manifest_yaml:
            raise StepFailed(
                "render", "the templates render differently now than when shown; propose again"
            )
        return f"re-rendered; sha256 {change.manifest_sha256[:12]} matches what was shown"

    def _validate(self, manifest: str) -> list[dict[str, Any]]:
        return validate_manifest(manifest, self.settings.kubernetes_version)

    def _preflight(self, docs: list[dict[str, Any]]) -> str:
        problems = self._kube_call("preflight", lambda: preflight(self.kube, docs))
        if problems:
            raise StepFailed("preflight", "does not fit: " + "; ".join(problems))
        return "fits the namespace quota and the nodes"

    def _terraform(self, change: PreparedChange, progress: Progress) -> str:
        if change.plan_path is None or change.plan_sha256 is None:
            return "no Terraform plan for this change"
        return self.terraform.apply(change.plan_path, change.plan_sha256, progress)

    def _dry_run(self, docs: list[dict[str, Any]]) -> str:
        for doc in docs:
            self._kube_call("dry-run", functools.partial(self.kube.apply, doc, dry_run=True))
        return f"{len(docs)} objects accepted by the server (dryRun=All)"

    def _apply_all(self, docs: list[dict[str, Any]], run: _Run, progress: Progress) -> str:
        """Snapshot what is live (the previous revision), then apply object by object."""
        snapshots = [
            (doc, self._kube_call("apply", functools.partial(self.kube.get, doc))) for doc in docs
        ]
        run.snapshots = snapshots
        run.previous = [sanitize_live(live) for _, live in snapshots if live is not None]
        for index, (doc, _) in enumerate(snapshots):
            run.check_lease()
            try:
                self._kube_call("apply", functools.partial(self.kube.apply, doc, dry_run=False))
            except StepFailed as exc:
                if index:
                    undone = rollback(
                        self.kube, snapshots[:index], delete_created=True, progress=progress
                    )
                    raise StepFailed(
                        "apply", f"{exc.message}; rolled back: {', '.join(undone)}"
                    ) from exc
                raise
            progress(f"apply: {object_ref(doc)} applied")
        return f"{len(snapshots)} objects applied (server-side, manager {self.kube.field_manager})"

    def _rollout(self, request: ApplyRequest, workload: dict[str, Any], run: _Run) -> str:
        return str(
            self._kube_call(
                "rollout",
                lambda: watch_rollout(
                    self.kube,
                    workload,
                    proposal_id=request.proposal_id,
                    revision=request.revision,
                    timeout_s=self.settings.rollout_timeout_s,
                    max_restarts=self.settings.rollout_max_restarts,
                    progress=run.progress,
                    lease=run.lease,
                ),
            )
        )

    def _rollback(
        self,
        snapshots: list[tuple[dict[str, Any], dict[str, Any] | None]],
        progress: Progress,
        run: _Run,
    ) -> bool:
        try:
            done = rollback(
                self.kube,
                snapshots,
                delete_created=self.settings.rollback_delete_first,
                progress=progress,
            )
        except (ApiException, StepFailed) as exc:
            detail = _api_message(exc) if isinstance(exc, ApiException) else exc.message
            run.record("rollback", ok=False, detail=f"rollback failed: {detail}")
            return False
        run.record("rollback", ok=True, detail="; ".join(done))
        return True

    @staticmethod
    def _kube_call(step: str, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except ApiException as exc:
            raise StepFailed(step, _api_message(exc)) from exc


class _Run:
    """Collects the steps of one apply and turns them into the ApplyResult."""

    def __init__(self, progress: Progress, lease: Lease | None = None) -> None:
        self.progress = progress
        self.lease = lease
        self.current = ""
        self.steps: list[ApplyStep] = []
        self.previous: list[dict[str, Any]] = []
        self.snapshots: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
        self.rolled_back = False

    def record(self, name: str, *, ok: bool, detail: str) -> None:
        self.steps.append(ApplyStep(name=name, ok=ok, detail=detail))
        self.progress(f"{name}: {'ok' if ok else 'FAILED'} — {detail}")

    def check_lease(self) -> None:
        if self.lease is not None:
            self.lease.check()

    def step(self, name: str, call: Callable[[], Any]) -> Any:
        self.current = name
        self.check_lease()
        self.progress(f"{name}: started")
        try:
            with timed_step(name):
                value = call()
        except LeaseLost as exc:
            self.record(name, ok=False, detail=f"stopped: {exc}")
            raise
        except StepFailed as exc:
            self.record(name, ok=False, detail=exc.message)
            raise
        except Exception as exc:  # anything unexpected still stops the run, named
            self.record(name, ok=False, detail=f"{type(exc).__name__}: {exc}")
            raise StepFailed(name, f"{type(exc).__name__}: {exc}") from exc
        detail = f"{len(value)} objects valid" if isinstance(value, list) else str(value)
        self.record(name, ok=True, detail=detail)
        return value

    def failed(self, exc: StepFailed) -> ApplyResult:
        # The step leads the message: the approval layer writes ``error`` to the audit as is.
        error = str(exc)
        rollback = next((s for s in self.steps if s.name == "rollback"), None)
        if rollback is not None:
            error += f"; rollback {'done' if rollback.ok else 'FAILED'}: {rollback.detail}"
        applied_terraform = any(s.name == "terraform" and s.ok for s in self.steps)
        if applied_terraform and exc.step != "terraform":
            error += " (the Terraform changes already applied stay in place)"
        return self.result(ok=False, failed_step=exc.step, error=error)

    def lease_lost(self, exc: LeaseLost) -> ApplyResult:
        """Stopped where it was: say exactly what had already changed, and that it stays."""
        acted = [s.name for s in self.steps if s.ok and s.name in ("terraform", "apply")]
        if "apply" in acted or self.current in ("apply", "rollout"):
            left = "the Kubernetes objects applied so far stay in place, not rolled back"
        elif acted:
            left = "the Terraform changes already applied stay in place"
        else:
            left = "nothing had been changed yet"
        error = f"stopped before {self.current}: {exc}; {left}"
        return self.result(ok=False, failed_step=self.current, error=error)

    def result(
        self, *, ok: bool, failed_step: str | None = None, error: str | None = None
    ) -> ApplyResult:
        previous = yaml.safe_dump_all(self.previous, sort_keys=False) if self.previous else None
        return ApplyResult(
            ok=ok,
            steps=list(self.steps),
            error=error,
            failed_step=failed_step,
            rolled_back=self.rolled_back,
            previous_manifest_yaml=previous,
        )
