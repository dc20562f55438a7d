"""Has a change reached the cluster? The hook that starts the checks after a GitOps merge.

In ``gitops`` mode Sizer never applies: the controller does, some time after the merge. The
rendered objects carry ``sizer.dev/proposal-id`` and ``sizer.dev/revision`` annotations, so the
workload in the cluster says which proposal it came from. :func:`workload_seen` is what the
follow-up poller asks before it records the proposal as applied and the feedback checks start.
"""

from __future__ import annotations

from kubernetes.client import ApiException

from bot.executors.kubernetes import KubeApi

__all__ = ["PROPOSAL_ANNOTATION", "REVISION_ANNOTATION", "workload_seen"]

PROPOSAL_ANNOTATION = "sizer.dev/proposal-id"
REVISION_ANNOTATION = "sizer.dev/revision"
_KINDS = ("Deployment", "StatefulSet")


def workload_seen(
    kube: KubeApi, namespace: str, workload: str, proposal_id: str, revision: int
) -> bool:
    """True when the Deployment or StatefulSet in the cluster carries this proposal revision."""
    for kind in _KINDS:
        metadata = {"name": workload, "namespace": namespace}
        ref = {"apiVersion": "apps/v1", "kind": kind, "metadata": metadata}
        try:
            live = kube.get(ref)
        except ApiException:
            return False
        if live is None:
            continue
        annotations = live.get("metadata", {}).get("annotations") or {}
        return bool(
            annotations.get(PROPOSAL_ANNOTATION) == proposal_id
            and annotations.get(REVISION_ANNOTATION) == str(revision)
        )
    return False
