"""The agent's usage-history port over Prometheus: fixed PromQL templates only."""

from __future__ import annotations

from tools.prometheus import (
    MetricSchema,
    PrometheusClient,
    PrometheusTarget,
    Workload,
    fetch_usage_history,
)
from tools.sizing.models import UsageHistory
from tools.verify import Verification, verify_workload


class PrometheusHistory:
    """Opens a client per call: calls are rare and a stale connection must not linger."""

    def __init__(
        self, target: PrometheusTarget, schema: MetricSchema, timeout_s: float = 30.0
    ) -> None:
        self._target = target
        self._schema = schema
        self._timeout_s = timeout_s

    def usage(self, namespace: str, name: str, since_s: int) -> UsageHistory:
        with PrometheusClient(self._target, timeout_s=self._timeout_s) as client:
            workload = Workload(name=name, namespace=namespace)
            return fetch_usage_history(client, self._schema, workload, since_s)

    def verify(self, namespace: str, name: str, since_s: int) -> Verification:
        with PrometheusClient(self._target, timeout_s=self._timeout_s) as client:
            workload = Workload(name=name, namespace=namespace)
            return verify_workload(client, self._schema, workload, since_s)
