"""Robusta KRR ``simple`` strategy, as a baseline.

From ``robusta_krr/strategies/simple.py`` and ``robusta_krr/core/runner.py``
(robusta-dev/krr): CPU request = the p95 of each pod's CPU usage (Prometheus
``quantile_over_time``, linear interpolation like numpy's default), the highest over the pods,
no CPU limit; memory request = limit = the highest memory sample of any pod + 15 %. The runner
then rounds CPU up to whole millicores and memory up to whole megabytes and applies its floors.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field

from tools.sizing.baselines._describe import bytes_text, cores_text, describe_window
from tools.sizing.models import Policy, Reason, Recommendation, UsageHistory
from tools.sizing.scoring import percentile

NAME = "krr-simple"

# strategies/simple.py, SimpleStrategySettings.cpu_percentile default.
CPU_PERCENTILE = 95.0
# strategies/simple.py, SimpleStrategySettings.memory_buffer_percentage default.
MEMORY_BUFFER_PERCENTAGE = 15.0
# strategies/simple.py, SimpleStrategySettings.points_required: fewer data points and KRR
# answers "Not enough data" instead of a number.
POINTS_REQUIRED = 100
# core/models/config.py, Config.cpu_min_value (millicores) and Config.memory_min_value; the
# benchmark specifies the memory floor as 100 MiB.
CPU_MIN_MILLICORES = 10
MEMORY_MIN_BYTES = 100 * 2**20
# core/runner.py, _round_value: ceil(value * prec_power) / prec_power with prec_power 10**3
# for CPU (whole millicores) and 1 / 10**6 for memory (whole megabytes).
CPU_PREC_POWER = 10**3
MEMORY_PREC_POWER = 1 / 10**6


class KrrSimpleSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    cpu_percentile: float = Field(CPU_PERCENTILE, gt=0, le=100)
    memory_buffer_percentage: float = Field(MEMORY_BUFFER_PERCENTAGE, gt=0, le=1000)
    points_required: int = Field(POINTS_REQUIRED, ge=1, le=10**7)
    cpu_min_millicores: int = Field(CPU_MIN_MILLICORES, ge=0, le=10**6)
    memory_min_bytes: int = Field(MEMORY_MIN_BYTES, ge=0, le=2**44)


def _round_up(value: float, prec_power: float) -> float:
    """KRR's ``_round_value`` before its floor."""
    return math.ceil(value * prec_power) / prec_power


def recommend(
    history: UsageHistory, policy: Policy, settings: KrrSimpleSettings | None = None
) -> Recommendation:
    """KRR ``simple`` on the given history.

    KRR itself refuses to answer below ``points_required`` samples; the benchmark needs a number
    for every service, so the number is computed anyway and the reason says so.
    ``policy`` is accepted for a uniform baseline signature; KRR applies its own floors.
    """
    del policy
    settings = settings or KrrSimpleSettings()
    pods = [p for p in history.pods if len(p)]
    if not pods:
        raise ValueError(f"service {history.service}: KRR needs at least one sample")
    cpu_stat = max(percentile(p.cpu_cores, settings.cpu_percentile) for p in pods)
    mem_stat = max(float(p.memory_bytes.max()) for p in pods)
    cpu = max(_round_up(cpu_stat, CPU_PREC_POWER), settings.cpu_min_millicores / 1000)
    buffer = settings.memory_buffer_percentage / 100
    memory = int(
        max(
            _round_up(mem_stat * (1 + buffer), MEMORY_PREC_POWER),
            settings.memory_min_bytes,
        )
    )
    window = describe_window(history)
    few = history.samples < settings.points_required
    caveat = (
        f" KRR would answer 'Not enough data' (fewer than {settings.points_required} points)."
        if few
        else ""
    )
    p = f"p{settings.cpu_percentile:g}"
    reasons = (
        Reason(
            field="cpu_request",
            value=cpu,
            statistic=f"{p} of raw CPU samples per pod, highest pod",
            window=window,
            text=f"KRR simple: CPU {p} {cores_text(cpu_stat)}, rounded up to 1m, at least "
            f"{settings.cpu_min_millicores}m.{caveat}",
        ),
        Reason(
            field="cpu_limit",
            value=None,
            statistic="none",
            window=window,
            text="KRR simple sets no CPU limit.",
        ),
        Reason(
            field="memory_request",
            value=float(memory),
            statistic="max memory sample of any pod",
            window=window,
            margin=buffer,
            text=f"KRR simple: peak memory {bytes_text(mem_stat)} + "
            f"{settings.memory_buffer_percentage:g} %, rounded up to 1 MB, at least "
            f"{bytes_text(settings.memory_min_bytes)}.{caveat}",
        ),
        Reason(
            field="memory_limit",
            value=float(memory),
            statistic="max memory sample of any pod",
            window=window,
            margin=buffer,
            text="KRR simple sets the memory limit equal to the request.",
        ),
    )
    return Recommendation(
        service=history.service,
        strategy=NAME,
        replicas=max(history.replicas(), 1),
        cpu_request_cores=cpu,
        cpu_limit_cores=None,
        memory_request_bytes=memory,
        memory_limit_bytes=memory,
        confidence=0.0 if few else 1.0,
        reasons=reasons,
    )
