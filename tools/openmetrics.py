"""A trace as the metrics a Kubernetes cluster would have exported, in OpenMetrics text.

Mapping (one container per pod, named like its service; namespace = the service's system):

- ``container_cpu_usage_seconds_total`` (cAdvisor counter): the running sum of
  cpu_cores × seconds since the previous sample. Each pod's counter starts at 0 one sampling
  interval before its first sample, and again after a gap of more than ``max_gap_intervals``
  intervals: the trace says nothing about usage inside a gap, and a counter that kept climbing
  through it would claim usage that was never measured. Differences of consecutive samples give
  back the trace's cpu_cores exactly.
- ``container_memory_working_set_bytes`` (cAdvisor gauge) = memory_bytes.
- the request-rate counter (its name is a setting) = running sum of rps × seconds, restarted
  the same way after samples where rps is unknown.
- ``kube_pod_labels`` = 1 with the app, language, framework and kind labels of the service.
- ``kube_pod_container_resource_limits`` / ``_requests`` (``resource``/``unit`` labels as in
  kube-state-metrics v2): limits are the observed limits of services.csv unless a size is
  given; requests exist only where a size gives them (traces record none).
- ``kube_pod_container_status_restarts_total`` counts ``oom_killed`` and ``restart`` events;
  ``kube_pod_container_status_last_terminated_reason{reason="OOMKilled"}`` is 1 from an OOM
  kill until a restart for another reason, as kube-state-metrics reports it.
- No CFS throttling series: traces do not record throttling, and none is made up.

What ``promtool tsdb create-blocks-from openmetrics`` needs, and this writer guarantees: every
family written once and contiguously, each series in time order, timestamps in seconds, and a
final ``# EOF``. Output is streamed pod by pod, so its size is bounded by the disk, not memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TextIO

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from tools.prometheus.queries import (
    CPU,
    LAST_TERMINATED,
    LIMITS,
    MEMORY,
    POD_LABELS,
    REQUESTS,
    RESTARTS,
    MetricSchema,
    escape_label_value,
)
from tools.sizing.models import FloatArray, IntArray, check_dns1123
from tools.traces import Trace

SHIFT_ALIGN_S = 300  # whole 5-min windows, so aligned windows hold the same samples after a shift


class SizeInForce(BaseModel):
    """Per-pod requests and limits to present as kube-state-metrics would (None = not set).

    Field names are those of a :class:`~tools.sizing.models.Recommendation`, so a saved
    recommendation can be given as is.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    cpu_request_cores: float | None = Field(None, ge=0)
    cpu_limit_cores: float | None = Field(None, ge=0)
    memory_request_bytes: int | None = Field(None, ge=0)
    memory_limit_bytes: int | None = Field(None, ge=0)


class OpenMetricsOptions(BaseModel):
    model_config = ConfigDict(frozen=True)

    metrics: MetricSchema = Field(default_factory=MetricSchema)
    shift_s: int = Field(0, description="seconds added to every timestamp")
    sizes: dict[str, SizeInForce] = Field(default_factory=dict)
    max_gap_intervals: int = Field(3, ge=1, le=1000)


class WriteSummary(BaseModel):
    """What was written: counts and the (shifted) first and last sample times."""

    series: int
    samples: int
    start: int
    end: int


@dataclass(frozen=True)
class _Pod:
    namespace: str
    service: str
    pod: str
    interval: int
    timestamps: IntArray
    cpu: FloatArray
    memory: FloatArray
    rps: FloatArray
    restarts: FloatArray
    oom_reason: npt.NDArray[np.bool_]


def shift_to_now(trace: Trace, now: float) -> int:
    """Seconds to add so the trace's last sample falls in the 5 minutes before ``now``."""
    last = max(int(p.timestamps[-1]) for h in trace.usage.values() for p in h.pods if len(p))
    return int((now - last) // SHIFT_ALIGN_S) * SHIFT_ALIGN_S


def label_set(labels: dict[str, str]) -> str:
    return "{" + ",".join(f'{k}="{escape_label_value(v)}"' for k, v in labels.items()) + "}"


def counter_samples(
    timestamps: IntArray, rates: FloatArray, interval: int, max_gap_intervals: int
) -> tuple[IntArray, FloatArray]:
    """Counter samples whose consecutive differences give back ``rates`` (NaN = unknown).

    A segment starts at the first known sample, after a gap longer than ``max_gap_intervals``
    intervals, and after an unknown sample; its counter is 0 just before (one interval before,
    or one second after the previous sample when closer).
    """
    known = np.isfinite(rates)
    t = timestamps[known]
    r = rates[known]
    if len(t) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    position = np.flatnonzero(known)
    start = np.ones(len(t), dtype=bool)
    start[1:] = (np.diff(t) > max_gap_intervals * interval) | (np.diff(position) > 1)
    previous = np.r_[np.iinfo(np.int64).min // 2, t[:-1]]
    zero_at = np.maximum(t - interval, previous + 1)
    dt = np.where(start, t - zero_at, t - previous)
    increments = r * dt
    totals = np.cumsum(increments)
    segment = np.cumsum(start) - 1
    base = (totals - increments)[start][segment]
    values = totals - base
    out_t = np.empty(len(t) + int(start.sum()), dtype=np.int64)
    out_v = np.empty(len(out_t))
    where = np.arange(len(t)) + np.cumsum(start)
    out_t[where] = t
    out_v[where] = values
    zeros = where[start] - 1
    out_t[zeros] = zero_at[start]
    out_v[zeros] = 0.0
    return out_t, out_v


def _lines(prefix: str, timestamps: IntArray, values: FloatArray) -> str:
    return "".join(
        f"{prefix} {v!r} {t}\n" for t, v in zip(timestamps.tolist(), values.tolist(), strict=True)
    )


def _constant(prefix: str, timestamps: IntArray) -> str:
    return "".join(f"{prefix} 1 {t}\n" for t in timestamps.tolist())


def _pods(trace: Trace, options: OpenMetricsOptions) -> list[_Pod]:
    events: dict[str, list[tuple[int, str]]] = {}
    for event in trace.events:
        if event.kind in ("oom_killed", "restart"):
            events.setdefault(event.pod, []).append((event.timestamp, event.kind))
    pods = []
    for service, history in sorted(trace.usage.items()):
        system = trace.services[service].meta.system or "default"
        try:
            namespace = check_dns1123(system)
        except ValueError as exc:
            raise ValueError(f"service {service}: system cannot be a namespace: {exc}") from None
        for p in history.pods:
            stamps = p.timestamps + options.shift_s
            pod_events = sorted(events.get(p.pod, []))
            times = np.array([t + options.shift_s for t, _ in pod_events], dtype=np.int64)
            oom = np.array([k == "oom_killed" for _, k in pod_events], dtype=bool)
            seen = np.searchsorted(times, stamps, side="right")
            active = np.zeros(len(stamps), dtype=bool)
            if len(times):
                active = (seen > 0) & oom[np.maximum(seen - 1, 0)]
            pods.append(
                _Pod(
                    namespace,
                    service,
                    p.pod,
                    history.interval_s,
                    stamps,
                    p.cpu_cores,
                    p.memory_bytes,
                    p.rps,
                    seen.astype(np.float64),
                    active,
                )
            )
    return pods


def _resource_rows(
    size: SizeInForce | None, observed_cpu: float | None, observed_mem: int | None, limits: bool
) -> list[tuple[str, str, float]]:
    if limits:
        cpu = size.cpu_limit_cores if size else observed_cpu
        mem = size.memory_limit_bytes if size else observed_mem
    else:
        cpu = size.cpu_request_cores if size else None
        mem = size.memory_request_bytes if size else None
    rows = []
    if cpu is not None:
        rows.append(("cpu", "core", float(cpu)))
    if mem is not None:
        rows.append(("memory", "byte", float(mem)))
    return rows


def _families(
    trace: Trace, pods: list[_Pod], options: OpenMetricsOptions
) -> Iterator[tuple[str, str, Iterator[tuple[str, int]]]]:
    """(family name, type, chunks of text with their sample counts), in writing order."""
    schema = options.metrics
    gap = options.max_gap_intervals

    def ids(p: _Pod) -> dict[str, str]:
        return {"namespace": p.namespace, "pod": p.pod, "container": p.service}

    def cpu() -> Iterator[tuple[str, int]]:
        for p in pods:
            t, v = counter_samples(p.timestamps, p.cpu, p.interval, gap)
            yield _lines(CPU + label_set(ids(p)), t, v), len(t)

    def memory() -> Iterator[tuple[str, int]]:
        for p in pods:
            yield _lines(MEMORY + label_set(ids(p)), p.timestamps, p.memory), len(p.timestamps)

    def request_rate() -> Iterator[tuple[str, int]]:
        for p in pods:
            t, v = counter_samples(p.timestamps, p.rps, p.interval, gap)
            if len(t):
                yield _lines(schema.request_rate_metric + label_set(ids(p)), t, v), len(t)

    def pod_labels() -> Iterator[tuple[str, int]]:
        for p in pods:
            meta = trace.services[p.service].meta
            labels = {"namespace": p.namespace, "pod": p.pod, schema.app_label: p.service}
            if meta.language:
                labels[schema.language_label] = meta.language
            if meta.framework:
                labels[schema.framework_label] = meta.framework
            labels[schema.kind_label] = meta.kind
            yield _constant(POD_LABELS + label_set(labels), p.timestamps), len(p.timestamps)

    def resources(limits: bool) -> Iterator[tuple[str, int]]:
        for p in pods:
            record = trace.services[p.service]
            rows = _resource_rows(
                options.sizes.get(p.service),
                record.observed_cpu_limit_cores,
                record.observed_memory_limit_bytes,
                limits,
            )
            for resource, unit, value in rows:
                labels = label_set({**ids(p), "resource": resource, "unit": unit})
                name = LIMITS if limits else REQUESTS
                values = np.full(len(p.timestamps), value)
                yield _lines(name + labels, p.timestamps, values), len(p.timestamps)

    def restarts() -> Iterator[tuple[str, int]]:
        for p in pods:
            yield _lines(RESTARTS + label_set(ids(p)), p.timestamps, p.restarts), len(p.restarts)

    def last_terminated() -> Iterator[tuple[str, int]]:
        for p in pods:
            stamps = p.timestamps[p.oom_reason]
            if len(stamps):
                labels = label_set({**ids(p), "reason": "OOMKilled"})
                yield _constant(LAST_TERMINATED + labels, stamps), len(stamps)

    rate_name = schema.request_rate_metric
    rate_family, rate_type = (
        (rate_name.removesuffix("_total"), "counter")
        if rate_name.endswith("_total")
        else (rate_name, "unknown")
    )
    yield CPU.removesuffix("_total"), "counter", cpu()
    yield MEMORY, "gauge", memory()
    yield rate_family, rate_type, request_rate()
    yield POD_LABELS, "gauge", pod_labels()
    yield REQUESTS, "gauge", resources(limits=False)
    yield LIMITS, "gauge", resources(limits=True)
    yield RESTARTS.removesuffix("_total"), "counter", restarts()
    yield LAST_TERMINATED, "gauge", last_terminated()


def write_openmetrics(trace: Trace, out: TextIO, options: OpenMetricsOptions) -> WriteSummary:
    """Write the trace's metrics to ``out``, one family after another, then ``# EOF``."""
    unknown = sorted(set(options.sizes) - set(trace.services))
    if unknown:
        raise ValueError(f"sizes given for services not in the trace: {', '.join(unknown)}")
    pods = _pods(trace, options)
    if not pods:
        raise ValueError(f"trace {trace.name} has no samples")
    series = samples = 0
    for family, kind, chunks in _families(trace, pods, options):
        header_written = False
        for text, count in chunks:
            if not header_written:
                out.write(f"# TYPE {family} {kind}\n")
                header_written = True
            out.write(text)
            series += 1
            samples += count
    out.write("# EOF\n")
    start = min(int(p.timestamps[0]) for p in pods if len(p.timestamps))
    end = max(int(p.timestamps[-1]) for p in pods if len(p.timestamps))
    return WriteSummary(series=series, samples=samples, start=start, end=end)
