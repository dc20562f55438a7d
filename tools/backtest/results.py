"""The result of a backtest; ``model_dump(mode="json")`` is the ``--json`` document.

Quantities are plain numbers (cores and bytes), ``None`` is "no limit" or "undefined", and each
service carries every recommendation with its scoring window, so every metric can be recomputed
from the trace alone.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tools.sizing.models import Reason, Recommendation
from tools.sizing.scoring import SizeMetrics

Mode = Literal["rightsize", "cold-start"]
MODES: tuple[Mode, ...] = ("rightsize", "cold-start")


class WindowModel(BaseModel):
    """Unix seconds, start inclusive, end exclusive."""

    model_config = ConfigDict(frozen=True)

    start: int
    end: int


class ScoredRecommendation(BaseModel):
    """One recommender's per-pod size for one service, and how it fared."""

    model_config = ConfigDict(frozen=True)

    strategy: str
    replicas: int = Field(description="replicas scored: the trace's pod count")
    proposed_replicas: int | None = Field(
        None, description="the recommender's own replica count, where rps is known"
    )
    cpu_request_cores: float
    cpu_limit_cores: float | None
    memory_request_bytes: int
    memory_limit_bytes: int | None
    confidence: float
    reasons: tuple[Reason, ...]
    metrics: SizeMetrics

    @classmethod
    def of(
        cls,
        rec: Recommendation,
        replicas: int,
        metrics: SizeMetrics,
        proposed_replicas: int | None = None,
    ) -> ScoredRecommendation:
        return cls(
            strategy=rec.strategy,
            replicas=replicas,
            proposed_replicas=proposed_replicas,
            cpu_request_cores=rec.cpu_request_cores,
            cpu_limit_cores=rec.cpu_limit_cores,
            memory_request_bytes=rec.memory_request_bytes,
            memory_limit_bytes=rec.memory_limit_bytes,
            confidence=rec.confidence,
            reasons=rec.reasons,
            metrics=metrics,
        )


class Load(BaseModel):
    """The expected load a cold-start recommender is told (per pod, over the scoring window)."""

    model_config = ConfigDict(frozen=True)

    rps_p50_per_pod: float | None
    rps_p95_per_pod: float | None


class ReplicaCheck(BaseModel):
    """Sizer's proposed replicas against the request rate seen in the scoring window."""

    model_config = ConfigDict(frozen=True)

    proposed: int
    trace_pods: int
    rps_p95_total: float = Field(description="p95 over timestamps of the summed rps of all pods")
    rps_p95_per_proposed_pod: float


class ServiceResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    service: str
    pods: int = Field(description="largest number of pods reporting at one timestamp")
    window: WindowModel
    history_window: WindowModel | None = None
    load: Load | None = None
    replica_check: ReplicaCheck | None = None
    recommenders: dict[str, ScoredRecommendation]


class Skipped(BaseModel):
    model_config = ConfigDict(frozen=True)

    service: str
    reason: str


class Summary(BaseModel):
    """Aggregates over the scored services of one recommender (None where nothing to aggregate)."""

    model_config = ConfigDict(frozen=True)

    services: int
    median_cpu_slack: float | None
    mean_cpu_slack: float | None
    median_mem_slack: float | None
    mean_mem_slack: float | None
    median_mem_peak_slack: float | None
    mean_mem_peak_slack: float | None
    median_abs_cpu_slack: float | None
    median_abs_mem_slack: float | None
    oom_events_total: int
    zero_oom_share: float | None
    unsaturated_share: float | None = Field(description="share with cpu_saturated_share < 1 %")
    all_goals_share: float | None = Field(
        description="share with |cpu_slack| and |mem_slack| <= 10 %, zero OOM, saturation < 1 %"
    )


class BacktestResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    trace: str
    mode: Mode
    history_hours: float | None
    recommenders: tuple[str, ...]
    policy: dict[str, object]
    services: tuple[ServiceResult, ...]
    skipped: tuple[Skipped, ...]
    summary: dict[str, Summary]
