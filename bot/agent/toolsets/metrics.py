"""The metrics toolset: a deployed workload's usage and its 24 h report, from Prometheus."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from pydantic import Field

from bot.agent.payloads import CheckRow, UsagePayload, VerifyPayload
from bot.agent.ports import History, NotFoundError
from bot.agent.toolsets._base import (
    AgentTool,
    Args,
    BaseToolset,
    ToolResult,
    Turn,
    cpu_text,
    memory_text,
)
from tools.sizing.models import Dns1123Label, FloatArray
from tools.sizing.quantities import format_cpu, format_memory
from tools.sizing.scoring import pooled_window_means

__all__ = ["MAX_HISTORY_H", "NO_METRICS", "MetricsToolset", "WorkloadArgs"]

NO_METRICS = "no metrics source (set PROMETHEUS_URL)"
MAX_HISTORY_H = 24 * 30


class WorkloadArgs(Args):
    name: Dns1123Label
    namespace: Dns1123Label = "default"
    since_hours: float = Field(24, gt=0, le=MAX_HISTORY_H)


class MetricsToolset(BaseToolset):
    """Reads the workloads' own history; needs a metrics source."""

    name: ClassVar[str] = "metrics"

    def __init__(self, history: History | None) -> None:
        self._source = history

    def check_prerequisites(self) -> str | None:
        return NO_METRICS if self._source is None else None

    def tools(self) -> list[AgentTool]:
        return [
            AgentTool(
                "usage_history",
                "A deployed workload's per-pod CPU/memory usage over the last hours.",
                WorkloadArgs,
                self.usage_history,
            ),
            AgentTool(
                "verify_workload",
                "24 h report of a deployed workload: slack, OOM kills, throttling, verdict.",
                WorkloadArgs,
                self.verify_workload,
            ),
        ]

    def _history(self) -> History:
        if self._source is None:
            raise NotFoundError(NO_METRICS)
        return self._source

    def usage_history(self, args: WorkloadArgs, turn: Turn) -> ToolResult:
        since_s = int(args.since_hours * 3600)
        history = self._history().usage(args.namespace, args.name, since_s)
        if history.samples == 0:
            return ToolResult(status="no_data", error=f"no samples for {args.name}")
        cpu5 = pooled_window_means(history.pods, memory=False)
        mem5 = pooled_window_means(history.pods, memory=True)
        data = UsagePayload(
            workload=f"{args.namespace}/{args.name}",
            pods=history.replicas(),
            samples=history.samples,
            hours=round((history.end - history.start) / 3600, 1),
            cpu_p50_per_pod=cpu_text(_quantile(cpu5, 0.5)),
            cpu_p95_per_pod=cpu_text(_quantile(cpu5, 0.95)),
            cpu_max_per_pod=format_cpu(float(history.concat("cpu").max())),
            memory_p50_per_pod=memory_text(_quantile(mem5, 0.5)),
            memory_p95_per_pod=memory_text(_quantile(mem5, 0.95)),
            memory_max_per_pod=format_memory(float(history.concat("memory").max())),
        )
        return ToolResult(status="ok", data=data)

    def verify_workload(self, args: WorkloadArgs, turn: Turn) -> ToolResult:
        v = self._history().verify(args.namespace, args.name, int(args.since_hours * 3600))
        f = v.in_force
        data = VerifyPayload(
            workload=f"{args.namespace}/{args.name}",
            verdict=v.verdict,
            pods=v.pods,
            cpu_request=cpu_text(f.cpu_request_cores),
            memory_request=memory_text(f.memory_request_bytes),
            cpu_p95=format_cpu(v.cpu.p95),
            memory_p95=format_memory(v.memory.p95),
            oom_kills=v.oom_kills,
            restarts=v.restarts,
            checks=tuple(CheckRow(goal=c.goal, status=c.status, detail=c.detail) for c in v.checks),
            notes=v.notes,
        )
        return ToolResult(status="ok", data=data)


def _quantile(values: FloatArray, q: float) -> float | None:
    return float(np.quantile(values, q)) if len(values) else None
