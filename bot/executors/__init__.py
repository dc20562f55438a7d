"""Ansible, Terraform and Kubernetes: how an approved proposal reaches the cluster.

Only the approval path may call an executor (see ``base.py``). ``build_executor`` is the entry
point the bot uses; it imports the clients lazily so importing ``bot.executors.base`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.executors.pipeline import PipelineExecutor
    from bot.settings import ClusterSettings, ExecutorSettings


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
