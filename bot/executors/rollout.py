"""Watch a workload's rollout until it is ready, fails, or runs out of time.

Readiness follows ``kubectl rollout status`` (the controller has seen the new generation and
every replica is updated and available). Failure is read from the new revision's pods, found
by the proposal annotations the templates put on them: an OOMKilled container, a waiting
reason that will not clear by itself (CrashLoopBackOff, image pull errors), or more restarts
than allowed. Pod events come from a watch, so a failure is seen as soon as it happens. The
apply's lease is checked on every look at the workload, so a watch never outlives its lock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bot.executors.base import Lease, Progress
from bot.executors.errors import StepFailed
from bot.executors.kubernetes import KubeApi
from bot.executors.validate import object_ref

__all__ = ["pod_problem", "rollout_ready", "watch_rollout"]

STEP = "rollout"
_STUCK_REASONS = frozenset(
    {
        "CrashLoopBackOff",
        "ImagePullBackOff",
        "ErrImagePull",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
    }
)
_WATCH_SLICE_S = 2


def rollout_ready(live: dict[str, Any]) -> tuple[bool, str]:
    """Whether the Deployment/StatefulSet finished rolling out, and a one-line status."""
    spec, status = live.get("spec") or {}, live.get("status") or {}
    want = int(spec.get("replicas", 1))
    generation = live.get("metadata", {}).get("generation", 0)
    observed = status.get("observedGeneration", 0)
    updated = int(status.get("updatedReplicas", 0))
    ready = int(status.get("readyReplicas", 0))
    line = f"{ready}/{want} ready, {updated} updated"
    if observed < generation:
        return False, f"{line}, waiting for the controller"
    if live.get("kind") == "StatefulSet":
        same_revision = status.get("currentRevision") == status.get("updateRevision")
        return updated >= want and ready >= want and same_revision, line
    available = int(status.get("availableReplicas", 0))
    total = int(status.get("replicas", 0))
    return updated >= want and available >= want and total <= want, line


def pod_problem(pod: dict[str, Any], max_restarts: int) -> str | None:
    """Why this pod shows the rollout has failed, or None while it may still come up."""
    name = pod.get("metadata", {}).get("name", "?")
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    for cs in statuses:
        container = cs.get("name", "?")
        state, last = cs.get("state") or {}, cs.get("lastState") or {}
        for terminated in (state.get("terminated"), last.get("terminated")):
            if terminated and terminated.get("reason") == "OOMKilled":
                return f"pod {name}: container {container} was OOMKilled (memory limit too low)"
        waiting = state.get("waiting") or {}
        if waiting.get("reason") in _STUCK_REASONS:
            message = waiting.get("message") or ""
            return f"pod {name}: container {container} is in {waiting['reason']} {message}".strip()
        restarts = int(cs.get("restartCount", 0))
        if restarts > max_restarts:
            return f"pod {name}: container {container} restarted {restarts} times"
    return None


def _is_new_revision(pod: dict[str, Any], proposal_id: str, revision: int) -> bool:
    annotations = pod.get("metadata", {}).get("annotations") or {}
    return bool(
        annotations.get("sizer.dev/proposal-id") == proposal_id
        and annotations.get("sizer.dev/revision") == str(revision)
    )


def watch_rollout(
    kube: KubeApi,
    workload: dict[str, Any],
    *,
    proposal_id: str,
    revision: int,
    timeout_s: float,
    max_restarts: int,
    progress: Progress,
    lease: Lease | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> str:
    """Block until ready (returns the status line) or raise StepFailed('rollout', why)."""
    ref = object_ref(workload)
    namespace = workload["metadata"]["namespace"]
    labels = workload["spec"]["selector"]["matchLabels"]
    selector = ",".join(f"{key}={value}" for key, value in sorted(labels.items()))
    deadline = clock() + timeout_s
    last_line = ""

    def check() -> tuple[bool, str]:
        live = kube.get(workload)
        if live is None:
            raise StepFailed(STEP, f"{ref} disappeared during the rollout")
        return rollout_ready(live)

    def report() -> tuple[bool, str]:
        nonlocal last_line
        if lease is not None:
            lease.check()
        ready, line = check()
        if line != last_line:
            progress(f"rollout: {ref} {line}")
            last_line = line
        return ready, line

    while True:
        ready, line = report()
        if ready:
            return line
        remaining = deadline - clock()
        if remaining <= 0:
            raise StepFailed(STEP, f"{ref} not ready after {timeout_s:g}s ({line})")
        events = kube.watch_pods(namespace, selector, max(1, min(_WATCH_SLICE_S, int(remaining))))
        try:
            for _, pod in events:
                if not _is_new_revision(pod, proposal_id, revision):
                    continue
                problem = pod_problem(pod, max_restarts)
                if problem:
                    raise StepFailed(STEP, problem)
                ready, line = report()
                if ready:
                    return line
                if clock() >= deadline:
                    break
        finally:
            events.close()
