"""Replicas from expected peak load and per-pod capacity at a target utilisation.

Per-pod capacity comes from the CPU model fitted on peers: a pod may use up to the policy's
``max_pod_cpu_cores`` at peak, at ``target_utilisation`` of it, so capacity is
``(max_pod_cpu × utilisation − idle) / cost per request``. The floor is 2 replicas (3 for
critical services) so pods spread across the cluster's three hypervisors and one node can be
drained without an outage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from tools.sizing.models import Policy, Reason


class CpuCostModel(Protocol):
    @property
    def idle_cores(self) -> float: ...

    @property
    def cores_per_rps(self) -> float: ...


@dataclass(frozen=True)
class ReplicaPlan:
    replicas: int
    pod_capacity_rps: float | None
    reason: Reason


def plan(
    rps_high: float, cpu_model: CpuCostModel, policy: Policy, *, critical: bool = False
) -> ReplicaPlan:
    floor = policy.critical_min_replicas if critical else policy.min_replicas
    floor_text = (
        f"at least {floor} for a critical service" if critical else f"at least {floor}"
    ) + " so pods spread across hypervisors"
    budget = policy.max_pod_cpu_cores * policy.target_utilisation - cpu_model.idle_cores
    if cpu_model.cores_per_rps <= 0 or budget <= 0 or rps_high <= 0:
        replicas = min(max(floor, 1), policy.max_replicas)
        return ReplicaPlan(
            replicas,
            None,
            Reason(
                field="replicas",
                value=replicas,
                statistic="policy minimum",
                window=f"peak {rps_high:g} req/s",
                text=f"{replicas} replicas: {floor_text}; peers show no measurable CPU "
                "per request, so load does not call for more",
            ),
        )
    capacity = budget / cpu_model.cores_per_rps
    needed = math.ceil(rps_high / capacity)
    replicas = min(max(needed, floor), policy.max_replicas)
    capped = needed > policy.max_replicas
    text = (
        f"{replicas} replicas: peak {rps_high:g} req/s over {capacity:.0f} req/s per pod "
        f"({policy.max_pod_cpu_cores:g} core at {policy.target_utilisation:.0%} utilisation) "
        f"needs {needed}; {floor_text}"
    )
    if capped:
        text += f"; capped at the policy maximum {policy.max_replicas}"
    return ReplicaPlan(
        replicas,
        capacity,
        Reason(
            field="replicas",
            value=replicas,
            statistic="ceil(peak rps / per-pod capacity at target utilisation)",
            window=f"peak {rps_high:g} req/s",
            margin=1 / policy.target_utilisation - 1,
            text=text,
        ),
    )
