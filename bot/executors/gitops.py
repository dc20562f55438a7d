"""The ``gitops`` apply mode: an approved change becomes a commit and a pull request.

Many teams let only their GitOps controller (Argo CD, Flux) write to the cluster. For them
``apply`` does not touch the cluster; it commits exactly the manifest the card showed (its
sha256 checked before and after the commit) on a new branch ``sizer/{proposal}-r{revision}``
made from the latest base, pushes it, and opens a pull/merge request when a provider is set.

``prepare`` renders and plans as in ``direct`` mode, then records where the file will go and
which version of it the base held: if the base has changed that file by approval time, the
apply stops with the diff (a conflict), and nothing is overwritten or force-pushed.

The branch name is the idempotency key: a second apply of the same revision finds the branch
(with the same content) and its pull request, and opens neither again.

Terraform plans are not applied here: the plan summary and hash go into the pull request, and
the team's pipeline applies them.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, Protocol

from bot.executors.base import (
    ApplyRequest,
    ApplyResult,
    ApplyStep,
    ChangeRequest,
    ChangeRequestState,
    GitBase,
    Lease,
    LeaseLost,
    PreparedChange,
    PrepareRequest,
    Progress,
)
from bot.executors.change_requests import ChangeRequestError, ChangeRequests
from bot.executors.errors import StepFailed
from bot.executors.gitrepo import GitError, GitRepo
from bot.executors.image import check_image
from bot.executors.kubernetes import KubeApi
from bot.executors.seen import workload_seen

__all__ = ["GitOpsExecutor", "Preparer", "branch_name", "change_body", "commit_message"]

MAX_DIFF = 6000


class Preparer(Protocol):
    def prepare(self, request: PrepareRequest) -> PreparedChange: ...


def branch_name(proposal_id: str, revision: int) -> str:
    return f"sizer/{proposal_id}-r{revision}"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _size_line(request: ApplyRequest) -> str:
    source = request.change.request
    if source is None:
        return f"{request.namespace}/{request.workload}"
    return (
        f"{source.replicas} replicas, cpu {source.cpu_request} (limit "
        f"{source.cpu_limit or 'none'}), memory {source.memory_request} (limit "
        f"{source.memory_limit or 'none'})"
    )


def _where(request: ApplyRequest) -> str:
    on = f" on {request.cluster}" if request.cluster else ""
    return f"{request.namespace}/{request.workload}{on}"


def commit_message(request: ApplyRequest) -> str:
    """Subject: the workload and its size; body: the reasons, the approver, the hashes."""
    lines = [f"Size {_where(request)}: {_size_line(request)}", ""]
    if request.reasons:
        lines.append("Reasons:")
        lines += [f"- {r.field}: {r.text}" for r in request.reasons]
        lines.append("")
    lines += [
        f"Approved-by: {request.approved_by}",
        f"Proposal: {request.proposal_id} revision {request.revision}",
        f"Manifest-sha256: {request.change.manifest_sha256}",
    ]
    if request.change.plan_sha256:
        lines.append(f"Terraform-plan-sha256: {request.change.plan_sha256}")
    return "\n".join(lines) + "\n"


def change_body(request: ApplyRequest, path: str) -> str:
    """The pull request body: the card's summary, every reason with its evidence, the plan."""
    change = request.change
    out = [
        f"Sizer proposal `{request.proposal_id}` revision {request.revision} for "
        f"`{_where(request)}`, approved by {request.approved_by}.",
        "",
        f"**Size**: {_size_line(request)}"
        + (f" · confidence {request.confidence:.2f}" if request.confidence is not None else ""),
        "",
    ]
    if request.reasons:
        out.append("**Why** (the evidence behind each number)")
        for reason in request.reasons:
            evidence = f"{reason.statistic}; {reason.window}"
            if reason.peers:
                evidence += f"; peers: {', '.join(reason.peers)}"
            out.append(f"- **{reason.field.replace('_', ' ')}**: {reason.text} _({evidence})_")
        out.append("")
    out += [
        f"**File**: `{path}` — exactly the manifest shown on the card, "
        f"sha256 `{change.manifest_sha256}`.",
        "",
    ]
    if change.plan_sha256 or change.plan_summary:
        out += [
            "**Terraform plan** (not applied by Sizer: your pipeline applies it)",
            "",
            "```",
            change.plan_summary or "no infrastructure change",
            "```",
        ]
        if change.plan_sha256:
            out.append(f"plan sha256 `{change.plan_sha256}`")
        out.append("")
    out.append("Merging rolls it out through the GitOps controller.")
    return "\n".join(out)


class GitOpsExecutor:
    """Commit, push and open a pull request instead of applying; see the module docstring."""

    def __init__(
        self,
        *,
        repo: GitRepo,
        base: str,
        path_template: str,
        cluster: str,
        preparer: Preparer,
        requests: ChangeRequests | None = None,
        provider: Literal["none", "github", "gitlab"] = "none",
        labels: tuple[str, ...] = ("sizer",),
        kube: KubeApi | None = None,
    ) -> None:
        self.repo = repo
        self.base = base
        self.path_template = path_template
        self.cluster = cluster
        self.preparer = preparer
        self.requests = requests
        self.provider = provider if requests is not None else "none"
        self.labels = labels
        self.kube = kube

    def path_for(self, namespace: str, workload: str) -> str:
        return self.path_template.format(cluster=self.cluster, namespace=namespace, name=workload)

    # proposal time

    def prepare(self, request: PrepareRequest) -> PreparedChange:
        change = self.preparer.prepare(request)
        path = self.path_for(request.namespace, request.workload)
        try:
            with self.repo.lock():
                self.repo.sync()
                head = self.repo.head_of(self.base)
                if head is None:
                    raise StepFailed(
                        "gitops", f"the base branch {self.base} is not in {self.repo.url}"
                    )
                blob = self.repo.blob(head, path)
        except GitError as exc:
            raise StepFailed("gitops", str(exc)) from exc
        base = GitBase(
            repo=self.repo.url,
            branch=self.base,
            path=path,
            commit=head,
            blob=blob,
            provider=self.provider,
        )
        return change.model_copy(update={"git_base": base})

    # approval time

    def apply(
        self, request: ApplyRequest, progress: Progress, lease: Lease | None = None
    ) -> ApplyResult:
        run = _Steps(progress)
        try:
            base = run.step("render", lambda: self._check(request))
            if lease is not None:
                try:
                    lease.check()  # before the push, the step that acts
                except LeaseLost as exc:
                    raise StepFailed("push", f"stopped before the push: {exc}") from None
            with self.repo.lock():
                outcome = self._push(request, base, run)
            if isinstance(outcome, ApplyResult):
                return outcome
            change_request = run.step("pull-request", lambda: self._pull_request(request, outcome))
            run.record(
                "terraform",
                ok=True,
                detail=(
                    "not applied: the plan is in the pull request; the team's pipeline applies it"
                    if request.change.plan_sha256
                    else "no Terraform plan for this change"
                ),
            )
        except StepFailed as exc:
            return run.result(ok=False, failed_step=exc.step, error=str(exc))
        return run.result(ok=True, change_request=change_request)

    def _check(self, request: ApplyRequest) -> GitBase:
        change = request.change
        check_image(change)
        if _sha256(change.manifest_yaml) != change.manifest_sha256:
            raise StepFailed("render", "stored manifest does not match the hash that was shown")
        source = change.request
        if source is not None:
            identity = (source.proposal_id, source.revision, source.workload, source.namespace)
            if identity != (
                request.proposal_id,
                request.revision,
                request.workload,
                request.namespace,
            ):
                raise StepFailed("render", "the change belongs to another proposal or revision")
        if change.git_base is None:
            raise StepFailed("render", "this proposal was prepared for direct apply; propose again")
        return change.git_base

    def _push(
        self, request: ApplyRequest, base: GitBase, run: _Steps
    ) -> ChangeRequest | ApplyResult:
        """Commit and push the branch, or find it already pushed; a conflict stops here."""
        branch = branch_name(request.proposal_id, request.revision)
        manifest = request.change.manifest_yaml
        try:
            run.step("sync", self.repo.sync)
            head = self.repo.head_of(base.branch)
            if head is None:
                raise StepFailed("sync", f"the base branch {base.branch} is gone from the repo")
            pushed = self.repo.head_of(branch)
            if pushed is None:
                diff = self._conflict(base, head)
                if diff is not None:
                    run.record("conflict", ok=False, detail=diff)
                    return run.result(
                        ok=False,
                        failed_step="conflict",
                        error=(
                            f"conflict: {base.path} changed on {base.branch} since the proposal "
                            "was made; nothing was committed or pushed — propose again"
                        ),
                        conflict_diff=diff,
                    )
                pushed = run.step(
                    "commit", lambda: self._commit(request, base, head, branch, manifest)
                )
                run.step("push", lambda: self._send(branch, base.path, manifest))
            else:
                self._same(pushed, base.path, manifest, branch)
                run.record("push", ok=True, detail=f"branch {branch} was already pushed")
        except GitError as exc:
            raise StepFailed("push", str(exc)) from exc
        return ChangeRequest(
            provider="none",
            repo=self.repo.url,
            branch=branch,
            base=base.branch,
            path=base.path,
            commit=pushed,
        )

    def _conflict(self, base: GitBase, head: str) -> str | None:
        """The diff of the file on the base since the proposal, or None when unchanged."""
        if self.repo.blob(head, base.path) == base.blob:
            return None
        before = (self.repo.read(base.commit, base.path) or "") if base.blob else ""
        after = self.repo.read(head, base.path) or ""
        diff = "".join(
            difflib.unified_diff(
                before.splitlines(keepends=True),
                after.splitlines(keepends=True),
                fromfile=f"{base.path} (when proposed, {base.commit[:12]})",
                tofile=f"{base.path} ({base.branch} now, {head[:12]})",
            )
        )
        return diff[:MAX_DIFF] or f"{base.path} changed on {base.branch}"

    def _commit(
        self, request: ApplyRequest, base: GitBase, head: str, branch: str, manifest: str
    ) -> str:
        commit = self.repo.commit_file(head, branch, base.path, manifest, commit_message(request))
        self._same(commit, base.path, manifest, branch)
        return commit

    def _same(self, commit: str, path: str, manifest: str, branch: str) -> None:
        committed = self.repo.read(commit, path)
        if committed is None or _sha256(committed) != _sha256(manifest):
            raise StepFailed(
                "push",
                f"branch {branch} holds a different {path} than the card showed; "
                "it was not overwritten",
            )

    def _send(self, branch: str, path: str, manifest: str) -> str:
        if self.repo.push(branch):
            return f"pushed {branch}"
        # Refused: another replica pushed the same branch first, or someone else did.
        self.repo.sync()
        other = self.repo.head_of(branch)
        if other is None:
            raise StepFailed("push", f"git refused to push {branch}; nothing was forced")
        self._same(other, path, manifest, branch)
        return f"branch {branch} was already pushed"

    def _pull_request(self, request: ApplyRequest, pushed: ChangeRequest) -> ChangeRequest:
        if self.requests is None:
            return pushed
        branch = pushed.branch
        try:
            found = self.requests.find(branch) or self.requests.open(
                branch=branch,
                base=pushed.base,
                title=f"Size {_where(request)}: {_size_line(request)}",
                body=change_body(request, pushed.path),
                labels=self.labels,
            )
        except ChangeRequestError as exc:
            raise StepFailed(
                "pull-request", f"{exc}; the branch {branch} is pushed, open it by hand"
            ) from exc
        return pushed.model_copy(
            update={
                "provider": self.provider,
                "number": found.number,
                "url": found.url,
                "state": found.state,
            }
        )

    # afterwards

    def follow(self, change: ChangeRequest) -> ChangeRequestState:
        """Where the pull request (or, without a provider, the branch) stands now."""
        if self.requests is not None and change.number is not None:
            return self.requests.status(change.number).state
        with self.repo.lock():
            self.repo.sync()
            head = self.repo.head_of(change.base)
            if head is not None and self.repo.is_ancestor(change.commit, head):
                return "merged"
            return "open" if self.repo.head_of(change.branch) is not None else "closed"

    def seen(self, namespace: str, workload: str, proposal_id: str, revision: int) -> bool:
        """Whether the controller has rolled the revision out (see :func:`workload_seen`)."""
        if self.kube is None:
            return False
        return workload_seen(self.kube, namespace, workload, proposal_id, revision)


class _Steps:
    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.steps: list[ApplyStep] = []

    def record(self, name: str, *, ok: bool, detail: str) -> None:
        self.steps.append(ApplyStep(name=name, ok=ok, detail=detail))
        first = detail.splitlines()[0] if detail else ""
        self.progress(f"{name}: {'ok' if ok else 'FAILED'} — {first}")

    def step(self, name: str, call: Callable[[], Any]) -> Any:
        try:
            value = call()
        except StepFailed as exc:
            self.record(name, ok=False, detail=exc.message)
            raise
        except (GitError, ChangeRequestError, OSError) as exc:
            self.record(name, ok=False, detail=str(exc))
            raise StepFailed(name, str(exc)) from exc
        detail = (
            value.url or value.branch
            if isinstance(value, ChangeRequest)
            else "manifest sha256 matches what was shown"
            if isinstance(value, GitBase)
            else str(value or "done")
        )
        self.record(name, ok=True, detail=detail)
        return value

    def result(self, *, ok: bool, **fields: Any) -> ApplyResult:
        return ApplyResult(ok=ok, steps=list(self.steps), **fields)


def clone_dir(work_dir: Path, cluster: str) -> Path:
    """Where a cluster's clone of the GitOps repository lives (outlives a restart)."""
    return work_dir / "gitops" / cluster
