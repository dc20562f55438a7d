"""Ansible, Terraform and Kubernetes: how an approved proposal reaches the cluster.

Only the approval path may call an executor (see ``base.py``). ``build_executor`` is the entry
point the bot uses for one cluster applied directly; ``build_fleet`` builds one executor per
cluster of the clusters file (``direct`` or ``gitops``) behind a router. Both import the
clients lazily so importing ``bot.executors.base`` stays light.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.clusters import ClusterSet, ClusterSpec
    from bot.executors.gitops import GitOpsExecutor, Preparer
    from bot.executors.kubernetes import KubeApi
    from bot.executors.pipeline import PipelineExecutor
    from bot.executors.router import ClusterRouter
    from bot.settings import ClusterSettings, ExecutorSettings, GitOpsSettings

__all__ = ["build_executor", "build_fleet", "build_gitops"]


def build_executor(settings: ExecutorSettings, cluster: ClusterSettings) -> PipelineExecutor:
    """The real executor, on the cluster of ``KUBECONFIG`` or the in-cluster service account."""
    from kubernetes.config import ConfigException

    from bot.executors.pipeline import PipelineExecutor

    try:
        return PipelineExecutor.from_settings(settings, cluster)
    except ConfigException as exc:
        raise RuntimeError(
            f"no Kubernetes configuration: set KUBECONFIG or run inside the cluster ({exc})"
        ) from exc


def build_gitops(
    settings: GitOpsSettings,
    spec: ClusterSpec,
    work_dir: Path,
    preparer: Preparer,
    kube: KubeApi | None,
) -> GitOpsExecutor:
    """Commits and pull requests for one cluster, on the repository of ``SIZER_GITOPS_REPO``."""
    from bot.executors.change_requests import (
        GITHUB_API,
        GITLAB_API,
        ChangeRequests,
        GitHubPulls,
        GitLabMergeRequests,
        project_of,
    )
    from bot.executors.gitops import GitOpsExecutor, clone_dir
    from bot.executors.gitrepo import GitRepo

    if settings.repo is None:
        raise RuntimeError(f"cluster {spec.name} applies by gitops: set SIZER_GITOPS_REPO")
    token = settings.token.get_secret_value() if settings.token else None
    requests: ChangeRequests | None = None
    if settings.provider != "none":
        if not token:
            raise RuntimeError(
                f"SIZER_GITOPS_PROVIDER={settings.provider} needs SIZER_GITOPS_TOKEN"
            )
        project = settings.project or project_of(settings.repo)
        if settings.provider == "github":
            api = settings.api_url or GITHUB_API
            requests = GitHubPulls(project, token, api_url=api, timeout_s=settings.timeout_s)
        else:
            api = settings.api_url or GITLAB_API
            requests = GitLabMergeRequests(
                project, token, api_url=api, timeout_s=settings.timeout_s
            )
    repo = GitRepo(
        settings.repo,
        clone_dir(work_dir, spec.name),
        author_name=settings.author_name,
        author_email=settings.author_email,
        token=token,
        timeout_s=settings.timeout_s,
    )
    return GitOpsExecutor(
        repo=repo,
        base=settings.branch,
        path_template=spec.gitops_path or settings.path,
        cluster=spec.name,
        preparer=preparer,
        requests=requests,
        provider=settings.provider,
        labels=settings.labels,
        kube=kube,
    )


def build_fleet(
    settings: ExecutorSettings, gitops: GitOpsSettings, clusters: ClusterSet
) -> ClusterRouter:
    """One executor per cluster, each on its own kubeconfig context and working directory."""
    from kubernetes.config import ConfigException

    from bot.executors.base import Executor
    from bot.executors.kubernetes import KubeApi
    from bot.executors.pipeline import PipelineExecutor
    from bot.executors.router import ClusterRouter

    executors: dict[str, Executor] = {}
    for spec in clusters.clusters:
        # Terraform state and saved plans are per cluster: one workload may live in several.
        own = settings.model_copy(update={"work_dir": settings.work_dir / "clusters" / spec.name})
        try:
            kube = KubeApi.from_kubeconfig(
                None if spec.in_cluster else spec.kubeconfig,
                field_manager=settings.field_manager,
                context=spec.context,
            )
        except ConfigException as exc:
            raise RuntimeError(f"cluster {spec.name}: no Kubernetes configuration ({exc})") from exc
        pipeline = PipelineExecutor(own, kube=kube)
        executors[spec.name] = (
            build_gitops(gitops, spec, own.work_dir, pipeline, kube)
            if spec.apply_mode == "gitops"
            else pipeline
        )
    return ClusterRouter(executors, clusters.default)
