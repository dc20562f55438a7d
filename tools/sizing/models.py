"""Typed inputs and outputs of the sizing engine.

Usage series are numpy arrays inside frozen dataclasses (history can hold millions of samples);
everything a person or the bot reads — metadata, policy, the recommendation and its reasons —
is a pydantic model, so it validates at the edge and serialises to JSON unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Literal

import numpy as np
import numpy.typing as npt
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from tools.sizing.vocabulary import DNS1123_LABEL as DNS1123_LABEL
from tools.sizing.vocabulary import KINDS as KINDS
from tools.sizing.vocabulary import LANGUAGES as LANGUAGES
from tools.sizing.vocabulary import Kind as Kind
from tools.sizing.vocabulary import Language as Language
from tools.sizing.vocabulary import check_dns1123 as check_dns1123
from tools.sizing.vocabulary import is_dns1123 as is_dns1123

Dns1123Label = Annotated[str, AfterValidator(check_dns1123)]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class ServiceMeta(BaseModel):
    """What is known about a service before (or besides) its usage."""

    model_config = ConfigDict(frozen=True)

    name: Dns1123Label
    language: Language | None = None
    framework: str | None = None
    kind: Kind = "http"
    system: str | None = None
    description: str = ""
    critical: bool = False


@dataclass(frozen=True)
class PodSeries:
    """One pod's samples, time-ascending. ``rps`` is NaN where unknown."""

    pod: str
    timestamps: IntArray
    cpu_cores: FloatArray
    memory_bytes: FloatArray
    rps: FloatArray

    def __post_init__(self) -> None:
        n = len(self.timestamps)
        if not (len(self.cpu_cores) == len(self.memory_bytes) == len(self.rps) == n):
            raise ValueError(f"pod {self.pod}: series lengths differ")

    def __len__(self) -> int:
        return len(self.timestamps)

    def between(self, start: int, end: int) -> PodSeries:
        """Samples with start <= timestamp < end."""
        lo, hi = np.searchsorted(self.timestamps, [start, end], side="left")
        return PodSeries(
            self.pod,
            self.timestamps[lo:hi],
            self.cpu_cores[lo:hi],
            self.memory_bytes[lo:hi],
            self.rps[lo:hi],
        )


@dataclass(frozen=True)
class UsageHistory:
    """All samples of one service, per pod, plus the sampling interval in seconds."""

    service: str
    pods: tuple[PodSeries, ...]
    interval_s: int = 60
    meta: ServiceMeta | None = field(default=None, compare=False)

    @property
    def samples(self) -> int:
        return sum(len(p) for p in self.pods)

    @property
    def start(self) -> int:
        return min(int(p.timestamps[0]) for p in self.pods if len(p))

    @property
    def end(self) -> int:
        """One interval past the last sample, so [start, end) covers every sample."""
        return max(int(p.timestamps[-1]) for p in self.pods if len(p)) + self.interval_s

    def between(self, start: int, end: int) -> UsageHistory:
        pods = tuple(p for p in (pod.between(start, end) for pod in self.pods) if len(p))
        return UsageHistory(self.service, pods, self.interval_s, self.meta)

    def concat(self, what: Literal["cpu", "memory", "rps"]) -> FloatArray:
        attr = {"cpu": "cpu_cores", "memory": "memory_bytes", "rps": "rps"}[what]
        parts = [getattr(p, attr) for p in self.pods]
        return np.concatenate(parts) if parts else np.zeros(0)

    def replicas(self) -> int:
        """Largest number of pods reporting at one timestamp (replaced pods do not count)."""
        if not self.pods:
            return 0
        if len(self.pods) == 1 and bool(np.all(np.diff(self.pods[0].timestamps) > 0)):
            return 1 if len(self.pods[0]) else 0  # one pod, no timestamp twice: no need to count
        stamps = np.concatenate([p.timestamps for p in self.pods])
        if len(stamps) == 0:
            return 0
        _, counts = np.unique(stamps, return_counts=True)
        return int(counts.max())


class Policy(BaseModel):
    """What the platform team decides, not what the data says. Every field is bounded."""

    model_config = ConfigDict(frozen=True)

    memory_limit: Literal["equal-request", "headroom"] = Field(
        "headroom",
        description="equal-request: limit = request (Guaranteed memory); headroom: limit "
        "covers the predicted peak while the request tracks typical use",
    )
    cpu_limit: Literal["none", "burst"] = Field(
        "none",
        description="none: no CPU limit, so bursts use idle node CPU instead of being "
        "throttled; burst: a limit well above the largest burst seen",
    )
    min_replicas: int = Field(2, ge=1, le=50, description="spread across hypervisors")
    critical_min_replicas: int = Field(
        3, ge=1, le=50, description="replica floor of a critical service"
    )
    max_replicas: int = Field(50, ge=1, le=1000, description="replica ceiling")
    target_utilisation: float = Field(
        0.6, gt=0.05, le=0.95, description="CPU utilisation per pod at peak load"
    )
    min_cpu_cores: float = Field(
        0.001, ge=0.001, le=4, description="1m is the smallest CPU request Kubernetes accepts"
    )
    min_memory_bytes: int = Field(
        6 * 2**20,
        ge=2**20,
        le=2**34,
        description="6 MiB: the smallest memory limit container runtimes accept (Docker docs)",
    )
    max_pod_cpu_cores: float = Field(
        1.0, gt=0, le=64, description="per-pod CPU at peak before scaling out instead of up"
    )


ReasonField = Literal[
    "replicas", "cpu_request", "cpu_limit", "memory_request", "memory_limit", "confidence"
]


class Reason(BaseModel):
    """One number and where it came from — what the bot shows when someone asks why."""

    model_config = ConfigDict(frozen=True)

    field: ReasonField
    value: float | None
    statistic: str = Field(description="e.g. 'p95 of 5-min mean CPU'")
    window: str = Field(description="e.g. 'last 12.0 h, 720 samples, 1 pod'")
    margin: float = Field(0.0, description="relative margin applied on top, 0.1 = +10 %")
    peers: tuple[str, ...] = ()
    text: str = Field(description="one sentence a person can read")


class Recommendation(BaseModel):
    """Per-pod requests and limits plus replicas, with the reasons for each number."""

    model_config = ConfigDict(frozen=True)

    service: str
    strategy: str
    replicas: int = Field(ge=1)
    cpu_request_cores: float = Field(ge=0)
    cpu_limit_cores: float | None = Field(None, ge=0)
    memory_request_bytes: int = Field(ge=0)
    memory_limit_bytes: int | None = Field(None, ge=0)
    confidence: float = Field(ge=0, le=1)
    reasons: tuple[Reason, ...] = ()

    def reason(self, name: ReasonField) -> Reason | None:
        return next((r for r in self.reasons if r.field == name), None)
