"""Engine inputs from Prometheus: one workload's raw history, and peers' aggregate profiles.

Right-sizing needs the per-pod samples of one workload, so those are pulled raw (range
selectors return every sample at its own timestamp; no step alignment, no interpolation).
Cold-start sizing needs only a :class:`~tools.sizing.profiles.PeerProfile` per peer, so those
numbers are computed on the server: a dozen instant queries answer for every peer at once and
the answer does not grow with the length of the history.

A workload is the container named like it (Sizer deploys a service's container under the
service's name) in its namespace; its metadata comes from the pod labels listed in
:class:`~tools.prometheus.queries.MetricSchema`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Annotated, TypeVar

import numpy as np
from pydantic import AfterValidator, BaseModel, ConfigDict

from tools.prometheus import queries as q
from tools.prometheus.client import (
    EmptyResult,
    PartialData,
    PrometheusClient,
    Series,
)
from tools.sizing.models import (
    KINDS,
    LANGUAGES,
    Dns1123Label,
    FloatArray,
    IntArray,
    Kind,
    Language,
    PodSeries,
    ServiceMeta,
    UsageHistory,
)
from tools.sizing.profiles import PeerProfile, profile_from_history
from tools.traces import sampling_interval

LabelValue = Annotated[str, AfterValidator(q.check_label_value)]
WORKERS = 4
NEW_POD = 3  # memory samples below which a pod without a CPU rate is just starting
T = TypeVar("T")


class Workload(BaseModel):
    """A deployed workload: its name, namespace and (when it differs) its container's name."""

    model_config = ConfigDict(frozen=True)

    name: Dns1123Label
    namespace: Dns1123Label
    container: Dns1123Label | None = None

    @property
    def container_name(self) -> str:
        return self.container or self.name

    def selector(self, *fixed: str) -> str:
        """Its label selector, plus ``fixed`` matchers written in code (never user text)."""
        return q.selector(
            q.matcher("namespace", self.namespace),
            q.matcher("container", self.container_name),
            *fixed,
        )


class PeerSelector(BaseModel):
    """Which existing workloads count as peers: every given label must match."""

    model_config = ConfigDict(frozen=True)

    namespace: Dns1123Label | None = None
    language: Language | None = None
    framework: LabelValue | None = None
    kind: Kind | None = None
    team: LabelValue | None = None
    exclude: tuple[Dns1123Label, ...] = ()

    def labels_selector(self, schema: q.MetricSchema) -> str:
        return q.selector(
            q.matcher("namespace", self.namespace) if self.namespace else "",
            q.value_matcher(schema.language_label, self.language) if self.language else "",
            q.value_matcher(schema.framework_label, self.framework) if self.framework else "",
            q.value_matcher(schema.kind_label, self.kind) if self.kind else "",
            q.value_matcher(schema.team_label, self.team) if self.team else "",
        )


class PeerProfiles(BaseModel):
    """Profiles of the peers found, and the peers left out with the reason."""

    model_config = ConfigDict(frozen=True)

    profiles: tuple[PeerProfile, ...]
    incomplete: tuple[str, ...] = ()


def _parallel(jobs: Sequence[Callable[[], T]]) -> list[T]:
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return list(pool.map(lambda job: job(), jobs))


def _meta(labels: dict[str, str], name: str, schema: q.MetricSchema) -> ServiceMeta:
    language = labels.get(schema.language_label) or None
    kind = labels.get(schema.kind_label) or "http"
    return ServiceMeta(
        name=name,
        system=labels.get("namespace") or None,
        language=language if language in LANGUAGES else None,
        framework=labels.get(schema.framework_label) or None,
        kind=kind if kind in KINDS else "http",
    )


def counter_rates(timestamps: FloatArray, values: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Per-sample rate of a counter between consecutive samples, at the later one's time.

    A decrease is a reset (a restarted container, or a trace's new segment): the rate ending
    there is unknown and left out, as is the first sample of a series.
    """
    if len(timestamps) < 2:
        return np.zeros(0), np.zeros(0)
    dv = np.diff(values)
    dt = np.diff(timestamps)
    keep = (dv >= 0) & (dt > 0)
    return timestamps[1:][keep], dv[keep] / dt[keep]


def _merge(parts: list[tuple[FloatArray, FloatArray]]) -> tuple[FloatArray, FloatArray]:
    """Several series of one pod (a container re-created) as one time-sorted series."""
    ts = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0)
    vs = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0)
    order = np.argsort(ts, kind="stable")
    ts, vs = ts[order], vs[order]
    first = np.r_[True, ts[1:] != ts[:-1]] if len(ts) else np.zeros(0, dtype=bool)
    return ts[first], vs[first]


def _by_pod(series: list[Series], rates: bool) -> dict[str, tuple[FloatArray, FloatArray]]:
    parts: dict[str, list[tuple[FloatArray, FloatArray]]] = {}
    for s in series:
        pair = counter_rates(s.timestamps, s.values) if rates else (s.timestamps, s.values)
        parts.setdefault(s.labels.get("pod", ""), []).append(pair)
    return {pod: _merge(p) for pod, p in parts.items()}


def _align(at: FloatArray, ts: FloatArray, values: FloatArray, tolerance: float) -> FloatArray:
    """Values at the sample times ``at``: the nearest sample within ``tolerance``, else NaN."""
    out = np.full(len(at), np.nan)
    if len(ts) == 0:
        return out
    right = np.clip(np.searchsorted(ts, at), 0, len(ts) - 1)
    left = np.clip(right - 1, 0, len(ts) - 1)
    pick = np.where(np.abs(ts[left] - at) <= np.abs(ts[right] - at), left, right)
    close = np.abs(ts[pick] - at) <= tolerance
    out[close] = values[pick[close]]
    return out


def _request_rate(
    at: FloatArray, series: list[tuple[FloatArray, FloatArray]], tolerance: float
) -> FloatArray:
    """Requests per second at the sample times, summed over the pod's series (handlers, codes)."""
    if not series:
        return np.full(len(at), np.nan)
    stacked = np.vstack([_align(at, ts, values, tolerance) for ts, values in series])
    known = np.isfinite(stacked).any(axis=0)
    return np.where(known, np.nansum(stacked, axis=0), np.nan)


def _interval(stamps: Sequence[FloatArray], default: int) -> int:
    gaps = [np.diff(s) for s in stamps if len(s) > 1]
    joined = np.concatenate(gaps) if gaps else np.zeros(0)
    return max(1, round(float(np.median(joined)))) if len(joined) else default


def fetch_usage_history(
    client: PrometheusClient,
    schema: q.MetricSchema,
    workload: Workload,
    since_s: int,
    at: float | None = None,
) -> UsageHistory:
    """Every sample of one workload's pods over ``since_s`` seconds up to ``at``.

    CPU comes from the counter's consecutive differences, aligned to the working-set samples
    (nearest within half an interval: cAdvisor stamps the two metrics separately); samples
    with no CPU value are dropped. A pod with memory but no CPU series is :class:`PartialData`.
    """
    at = time.time() if at is None else at  # one instant for every query below
    sel = workload.selector()
    # counters reach a few intervals further back: the first sample's rate needs the one before
    counter_s = since_s + max(600, 3 * schema.scrape_interval_s)
    memory, cpu, rps, labels = _parallel(
        [
            lambda: client.samples(q.raw(q.MEMORY, sel, since_s), at),
            lambda: client.samples(q.raw(q.CPU, sel, counter_s), at),
            lambda: client.samples(q.raw(schema.request_rate_metric, sel, counter_s), at),
            lambda: client.instant(
                q.pod_labels(
                    q.selector(
                        q.matcher("namespace", workload.namespace),
                        q.matcher(schema.app_label, workload.name),
                    ),
                    since_s,
                    schema,
                ),
                at,
            ),
        ]
    )
    where = f"container {workload.container_name} in namespace {workload.namespace}"
    hours = f"{since_s / 3600:g} h"
    if not memory:
        client.require(q.MEMORY, since_s, at, schema)
        raise EmptyResult(f"no {q.MEMORY} for {where} in the last {hours}")
    if not cpu:
        client.require(q.CPU, since_s, at, schema)
        raise PartialData(f"{where}: {q.MEMORY} is there but {q.CPU} is not")
    mem_pods = _by_pod(memory, rates=False)
    cpu_pods = _by_pod(cpu, rates=True)
    rps_series: dict[str, list[tuple[FloatArray, FloatArray]]] = {}
    for s in rps:
        rps_series.setdefault(s.labels.get("pod", ""), []).append(
            counter_rates(s.timestamps, s.values)
        )
    # a pod seen only once or twice (just started) has no CPU rate yet: not a gap in the data
    missing = sorted(p for p in set(mem_pods) - set(cpu_pods) if len(mem_pods[p][0]) >= NEW_POD)
    if missing:
        raise PartialData(f"{where}: no {q.CPU} for pod(s) {', '.join(missing)}")
    interval = _interval([ts for ts, _ in mem_pods.values()], schema.scrape_interval_s)
    tolerance = interval / 2
    pods = []
    for pod in sorted(mem_pods):
        ts, mem = mem_pods[pod]
        cpu_values = _align(ts, *cpu_pods.get(pod, (np.zeros(0), np.zeros(0))), tolerance)
        keep = np.isfinite(cpu_values)
        if not keep.any():
            if len(ts) < NEW_POD:
                continue
            raise PartialData(f"{where}: pod {pod} has no CPU sample next to its memory samples")
        stamps: IntArray = np.rint(ts[keep]).astype(np.int64)
        pods.append(
            PodSeries(
                pod,
                stamps,
                cpu_values[keep],
                mem[keep],
                _request_rate(ts[keep], rps_series.get(pod, []), tolerance),
            )
        )
    if not pods:
        raise EmptyResult(f"{where}: only pods too new to have a CPU rate in the last {hours}")
    meta_labels = labels[0].labels if labels else {"namespace": workload.namespace}
    meta = _meta(meta_labels, workload.name, schema)
    return UsageHistory(workload.name, tuple(pods), sampling_interval(pods), meta)


def _peer_metadata(
    client: PrometheusClient,
    schema: q.MetricSchema,
    peers: PeerSelector,
    since_s: int,
    at: float | None,
) -> dict[tuple[str, str], ServiceMeta]:
    rows = client.instant(q.pod_labels(peers.labels_selector(schema), since_s, schema), at)
    if not rows:
        client.require(q.POD_LABELS, since_s, at, schema)
        raise EmptyResult(
            f"no pods match {peers.labels_selector(schema)} in the last {since_s / 3600:g} h"
        )
    found: dict[tuple[str, str], ServiceMeta] = {}
    for row in rows:
        app = row.labels.get(schema.app_label, "")
        namespace = row.labels.get("namespace", "")
        if app and app not in peers.exclude and (namespace, app) not in found:
            try:
                found[(namespace, app)] = _meta(row.labels, app, schema)
            except ValueError:
                continue  # an app label that is no DNS-1123 name cannot be a Sizer workload
    return found


def _subquery_texts(
    schema: q.MetricSchema, labels: str, namespace: str, since_s: int
) -> dict[str, str]:
    """Profile numbers computed from raw samples at query time (no rules needed)."""
    step = schema.scrape_interval_s
    any_container = q.selector(namespace, q.CONTAINERS_ONLY)

    def windowed(expr: str, quantile: float) -> str:
        per = q.per_workload("max", q.peers_only(expr, labels))
        return q.over_time("quantile_over_time", per, since_s, q.WINDOW_S, quantile)

    cpu5 = q.cpu_window_mean(any_container)
    mem5 = q.memory_window_mean(any_container)
    cpu_rate = q.per_workload(
        "max", q.peers_only(q.sample_rate(q.CPU, any_container, step), labels)
    )
    return {
        "cpu_p50": windowed(cpu5, 0.5),
        "cpu_p95": windowed(cpu5, 0.95),
        "cpu_max": q.over_time("max_over_time", cpu_rate, since_s, max(1, step // 2)),
        "mem_p50": windowed(mem5, 0.5),
        "mem_p95": windowed(mem5, 0.95),
        "mem_max": _memory_max(any_container, labels, since_s),
        "pods": q.replicas(any_container, labels, since_s, step),
        "start": q.sample_time("min", any_container, labels, since_s, step),
        "end": q.sample_time("max", any_container, labels, since_s, step),
    }


def _recorded_texts(labels: str, namespace: str, since_s: int) -> dict[str, str]:
    """Profile numbers read from the series of :func:`~tools.prometheus.queries.recording_rules`."""
    ns = q.selector(namespace)
    window = q.seconds(since_s)
    return {
        "cpu_p50": q.recorded_over("quantile_over_time", q.REC_CPU_MEAN + ns, labels, since_s, 0.5),
        "cpu_p95": q.recorded_over(
            "quantile_over_time", q.REC_CPU_MEAN + ns, labels, since_s, 0.95
        ),
        "cpu_max": q.recorded_over("max_over_time", q.REC_CPU_MAX + ns, labels, since_s),
        "mem_p50": q.recorded_over(
            "quantile_over_time", q.REC_MEMORY_MEAN + ns, labels, since_s, 0.5
        ),
        "mem_p95": q.recorded_over(
            "quantile_over_time", q.REC_MEMORY_MEAN + ns, labels, since_s, 0.95
        ),
        "mem_max": _memory_max(q.selector(namespace, q.CONTAINERS_ONLY), labels, since_s),
        # per workload already; only the workloads of ``metadata`` are read from the answer
        "pods": f"max_over_time({q.REC_PODS}{ns}[{window}])",
        "windows": f"count_over_time({q.REC_PODS}{ns}[{window}])",
    }


def _memory_max(sel: str, labels: str, since_s: int) -> str:
    raw_max = f"max_over_time({q.MEMORY}{sel}[{q.seconds(since_s)}])"
    return q.per_workload("max", q.peers_only(raw_max, labels, since_s))


def fetch_peer_profiles(
    client: PrometheusClient,
    schema: q.MetricSchema,
    peers: PeerSelector,
    since_s: int,
    at: float | None = None,
    *,
    recorded: bool = False,
) -> PeerProfiles:
    """One :class:`PeerProfile` per peer workload, every number aggregated on the server.

    Where a workload ran several pods at once, each 5-minute window takes the largest of its
    pods before the quantile: exact for one pod at a time, an upper bound otherwise (the
    pooled quantile of the reference computation lies between the pods' own quantiles).
    Only 5-minute windows that ended by ``at`` count: the one still filling is left out.

    ``recorded=True`` reads the series of :func:`~tools.prometheus.queries.recording_rules`
    instead of evaluating subqueries: the quantile is then the largest of the pods' own
    quantiles (still an upper bound), and ``hours`` counts the 5-minute windows with data.
    """
    at = time.time() if at is None else at
    metadata = _peer_metadata(client, schema, peers, since_s, at)
    labels = peers.labels_selector(schema)
    step = schema.scrape_interval_s
    # the namespace, when given, narrows the cAdvisor series before the label join
    namespace = q.matcher("namespace", peers.namespace) if peers.namespace else ""
    texts = (
        _recorded_texts(labels, namespace, since_s)
        if recorded
        else _subquery_texts(schema, labels, namespace, since_s)
    )
    rps_rate = q.with_app(q.pod_request_rate(schema, step), labels, schema.app_label)
    rps_per = f"max by (namespace, {schema.app_label}) ({rps_rate})"
    rps_texts = {
        "rps_p50": q.over_time("quantile_over_time", rps_per, since_s, step, 0.5),
        "rps_p95": q.over_time("quantile_over_time", rps_per, since_s, step, 0.95),
    }
    keys = list(texts) + list(rps_texts)
    by_container = [
        partial(client.scalar_by, t, at, "namespace", "container") for t in texts.values()
    ]
    by_app = [
        partial(client.scalar_by, t, at, "namespace", schema.app_label) for t in rps_texts.values()
    ]
    results = dict(zip(keys, _parallel([*by_container, *by_app]), strict=True))
    if not results["mem_max"]:
        client.require(q.MEMORY, since_s, at, schema)
    if not results["cpu_p95"]:
        client.require(q.REC_CPU_MEAN if recorded else q.CPU, since_s, at, schema)
    profiles: list[PeerProfile] = []
    incomplete: list[str] = []
    for (namespace, app), meta in sorted(metadata.items()):
        key = (namespace, app)
        absent = [k for k in texts if key not in results[k]]
        if absent:
            incomplete.append(f"{namespace}/{app}: no {', '.join(absent)} in the window")
            continue
        value = {k: results[k][key] for k in keys if key in results[k]}
        profiles.append(
            PeerProfile(
                meta=meta,
                pods=max(1, int(value["pods"])),
                hours=value["windows"] * q.WINDOW_S / 3600
                if recorded
                else (value["end"] - value["start"] + step) / 3600,
                cpu_p50=max(0.0, value["cpu_p50"]),
                cpu_p95=max(0.0, value["cpu_p95"]),
                cpu_max=max(0.0, value["cpu_max"]),
                mem_p50=value["mem_p50"],
                mem_p95=value["mem_p95"],
                mem_max=value["mem_max"],
                rps_p50=value.get("rps_p50"),
                rps_p95=value.get("rps_p95"),
            )
        )
    return PeerProfiles(profiles=tuple(profiles), incomplete=tuple(incomplete))


def fetch_peer_histories(
    client: PrometheusClient,
    schema: q.MetricSchema,
    peers: PeerSelector,
    since_s: int,
    at: float | None = None,
) -> list[UsageHistory]:
    """Raw histories of every peer: what server-side profiles avoid (kept to compare)."""
    at = time.time() if at is None else at
    metadata = _peer_metadata(client, schema, peers, since_s, at)
    workloads = [Workload(name=app, namespace=ns) for ns, app in sorted(metadata)]
    return _parallel(
        [partial(fetch_usage_history, client, schema, w, since_s, at) for w in workloads]
    )


def profiles_from_raw(
    client: PrometheusClient,
    schema: q.MetricSchema,
    peers: PeerSelector,
    since_s: int,
    at: float | None = None,
) -> PeerProfiles:
    """Peer profiles computed client-side from raw series (the slow path, for comparison)."""
    histories = fetch_peer_histories(client, schema, peers, since_s, at)
    return PeerProfiles(profiles=tuple(profile_from_history(h) for h in histories))
