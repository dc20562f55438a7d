"""The fixed PromQL templates Sizer sends, and the only way a name gets into one.

No text from a person or the LLM is ever spliced into a query: workload, namespace and peer
label values are checked as DNS-1123 labels and then quoted as label matchers, label and metric
names come from :class:`MetricSchema` (validated at start-up), and durations are integers.

Five-minute means are aligned to multiples of 300 s, like the benchmark's scoring: evaluated at
a subquery step ``t`` (a multiple of 5 min), a window expression covers ``[t - 300 s, t)``.
Every expression below is a plain instant-vector expression, so any of them can be turned into
a recording rule and the outer ``*_over_time`` run against the recorded series instead.
"""

from __future__ import annotations

import re

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from tools.sizing.models import check_dns1123

CPU = "container_cpu_usage_seconds_total"
MEMORY = "container_memory_working_set_bytes"
REQUESTS = "kube_pod_container_resource_requests"
LIMITS = "kube_pod_container_resource_limits"
LAST_TERMINATED = "kube_pod_container_status_last_terminated_reason"
RESTARTS = "kube_pod_container_status_restarts_total"
# 1 while a container waits, one series per reason; kube-state-metrics exports none otherwise.
WAITING_REASON = "kube_pod_container_status_waiting_reason"
CRASH_LOOP = 'reason="CrashLoopBackOff"'
THROTTLED = "container_cpu_cfs_throttled_periods_total"
PERIODS = "container_cpu_cfs_periods_total"
THROTTLING_SERIES = "container_cpu_cfs_*"  # both of the above, as a person would say it
POD_LABELS = "kube_pod_labels"

# Recorded by the rules of recording_rules(): one point per pod (or workload) per 5 minutes.
REC_CPU_MEAN = "sizer:container_cpu_usage_cores:mean5m"
REC_CPU_MAX = "sizer:container_cpu_usage_cores:max5m"
REC_MEMORY_MEAN = "sizer:container_memory_working_set_bytes:mean5m"
REC_PODS = "sizer:workload_pods:count5m"
RECORDING_GROUP = "sizer-5m"

CADVISOR = "cAdvisor"
KUBE_STATE_METRICS = "kube-state-metrics"
RULES = "Sizer's recording rules (tools.prometheus.queries.recording_rules)"
EXPORTERS = {
    CPU: CADVISOR,
    MEMORY: CADVISOR,
    THROTTLED: CADVISOR,
    PERIODS: CADVISOR,
    REQUESTS: KUBE_STATE_METRICS,
    LIMITS: KUBE_STATE_METRICS,
    LAST_TERMINATED: KUBE_STATE_METRICS,
    RESTARTS: KUBE_STATE_METRICS,
    WAITING_REASON: KUBE_STATE_METRICS,
    POD_LABELS: KUBE_STATE_METRICS,
    REC_CPU_MEAN: RULES,
    REC_CPU_MAX: RULES,
    REC_MEMORY_MEAN: RULES,
    REC_PODS: RULES,
}

WINDOW_S = 300
# cAdvisor also reports the pod cgroup (container="") and the pause container.
CONTAINERS_ONLY = 'container!="",container!="POD"'

_METRIC_NAME = re.compile(r"\A[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
_LABEL_NAME = re.compile(r"\A[a-zA-Z_][a-zA-Z0-9_]*\Z")
# Kubernetes label values (``web.go``, ``spring-boot``): 63 characters of [A-Za-z0-9._-].
_LABEL_VALUE = re.compile(r"\A([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)\Z")


class MetricSchema(BaseModel):
    """Names that differ between clusters: the request-rate metric and the pod label names.

    Label names are as kube-state-metrics exposes them on ``kube_pod_labels`` (a pod label
    ``app.kubernetes.io/name`` becomes ``label_app_kubernetes_io_name``; the labels must be in
    its ``--metric-labels-allowlist``). ``scrape_interval_s`` is the cAdvisor scrape interval,
    the resolution at which per-sample statistics (raw CPU maximum, rps quantiles) are taken.
    """

    model_config = ConfigDict(frozen=True)

    request_rate_metric: str = "http_requests_total"
    app_label: str = "label_app"
    language_label: str = "label_language"
    framework_label: str = "label_framework"
    kind_label: str = "label_kind"
    team_label: str = "label_team"
    scrape_interval_s: int = Field(60, ge=1, le=3600)

    @field_validator("request_rate_metric")
    @classmethod
    def _metric_name(cls, value: str) -> str:
        if not _METRIC_NAME.fullmatch(value):
            raise ValueError(f"{value!r} is not a Prometheus metric name")
        return value

    @field_validator("app_label", "language_label", "framework_label", "kind_label", "team_label")
    @classmethod
    def _label_name(cls, value: str) -> str:
        if not _LABEL_NAME.fullmatch(value) or value.startswith("__"):
            raise ValueError(f"{value!r} is not a Prometheus label name")
        return value


def exporter_of(metric: str, schema: MetricSchema | None = None) -> str:
    """Which exporter must be scraped for ``metric`` to exist (named in errors)."""
    if schema is not None and metric == schema.request_rate_metric:
        return "the application's request-rate metric"
    return EXPORTERS.get(metric, "an exporter")


def escape_label_value(value: str) -> str:
    """PromQL string escaping; defence in depth, as values are DNS-1123 labels already."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def matcher(label: str, value: str) -> str:
    """``label="value"`` for a DNS-1123 value; anything else raises ValueError before sending."""
    if not _LABEL_NAME.fullmatch(label):
        raise ValueError(f"{label!r} is not a Prometheus label name")
    return f'{label}="{escape_label_value(check_dns1123(value))}"'


def check_label_value(value: str) -> str:
    """Reject what Kubernetes would reject as a label value, with the rule in the message."""
    if not _LABEL_VALUE.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a Kubernetes label value: 1-63 letters, digits, '-', '_' or '.', "
            "starting and ending with a letter or digit"
        )
    return value


def value_matcher(label: str, value: str) -> str:
    """Like :func:`matcher` for label values that may hold '.' or '_' (e.g. a framework)."""
    if not _LABEL_NAME.fullmatch(label):
        raise ValueError(f"{label!r} is not a Prometheus label name")
    return f'{label}="{escape_label_value(check_label_value(value))}"'


def selector(*matchers: str) -> str:
    """``{a="x",b="y"}`` from matchers built by :func:`matcher` (or fixed ones above)."""
    return "{" + ",".join(m for m in matchers if m) + "}"


def seconds(value: int) -> str:
    if value < 1:
        raise ValueError(f"duration must be at least 1 s, got {value}")
    return f"{int(value)}s"


def raw(metric: str, sel: str, window_s: int) -> str:
    """All raw samples of the selected series over the window (instant query at its end)."""
    return f"{metric}{sel}[{seconds(window_s)}]"


def exists(metric: str, window_s: int) -> str:
    """One sample when any series of ``metric`` has data in the window: the exporter is there."""
    return f"count(count_over_time({metric}[{seconds(window_s)}]))"


def cpu_window_mean(sel: str) -> str:
    """Per-series CPU cores averaged over the aligned 5-min window ending at the step.

    The counter's increase from the last sample before the window to the last sample inside it,
    per second of window: the mean of the per-sample rates when samples are evenly spaced, and
    still defined with one sample per window (300 s sampling), where ``rate()`` over the window
    is not. (Dividing by the samples' own time span would need ``timestamp()`` of a selector,
    which Prometheus evaluates step by step, 30x slower here.) A reset drops the window.
    """
    now = f"{CPU}{sel} offset 1ms"
    before = f"{CPU}{sel} offset {WINDOW_S * 1000 + 1}ms"
    return f"(({now} - {before}) / {WINDOW_S}) >= 0"


def memory_window_mean(sel: str) -> str:
    """Per-series mean working set of the samples inside the aligned window ``[t-300 s, t)``."""
    return f"avg_over_time({MEMORY}{sel}[{WINDOW_S * 1000 - 1}ms] offset 1ms)"


def sample_rate(metric: str, sel: str, interval_s: int) -> str:
    """Per-sample rate of a counter: ``irate`` uses exactly the last two samples."""
    return f"irate({metric}{sel}[{seconds(3 * interval_s)}])"


def pod_request_rate(schema: MetricSchema, interval_s: int) -> str:
    """Requests per second of each pod, summed over its series (handlers, status codes)."""
    rate = sample_rate(schema.request_rate_metric, "{}", interval_s)
    return f"sum by (namespace, pod) ({rate})"


def peers_only(expr: str, labels_sel: str, window_s: int | None = None) -> str:
    """Keep the series of pods whose ``kube_pod_labels`` match (peers chosen by labels).

    Inside a subquery the labels are matched at each step; for a single evaluation over a
    window (``window_s``) any pod seen in the window counts, including pods gone since.
    """
    labels = f"{POD_LABELS}{labels_sel}"
    if window_s is not None:
        labels = f"last_over_time({labels}[{seconds(window_s)}])"
    return f"({expr}) and on (namespace, pod) {labels}"


def with_app(expr: str, labels_sel: str, app_label: str) -> str:
    """Attach the pod's app label, for series (request rates) without a container label."""
    return f"({expr}) * on (namespace, pod) group_left({app_label}) {POD_LABELS}{labels_sel}"


def per_workload(aggregation: str, expr: str) -> str:
    """One value per workload; ``max`` over pods keeps a quantile conservative."""
    return f"{aggregation} by (namespace, container) ({expr})"


def over_time(function: str, expr: str, window_s: int, step_s: int, q: float | None = None) -> str:
    """``function`` over a subquery of ``expr``: one number per series, whatever the history."""
    arg = f"{q!r}, " if q is not None else ""
    return f"{function}({arg}({expr})[{seconds(window_s)}:{seconds(step_s)}])"


def pod_labels(labels_sel: str, window_s: int, schema: MetricSchema) -> str:
    """The labels of every matching pod seen in the window, one series per distinct set."""
    keep = ", ".join(
        [
            "namespace",
            schema.app_label,
            schema.language_label,
            schema.framework_label,
            schema.kind_label,
            schema.team_label,
        ]
    )
    return f"group by ({keep}) (last_over_time({POD_LABELS}{labels_sel}[{seconds(window_s)}]))"


def replicas(sel: str, labels_sel: str, window_s: int, interval_s: int) -> str:
    """Largest number of pods of a workload reporting within one sampling interval."""
    live = f"last_over_time({MEMORY}{sel}[{seconds(interval_s)}])"
    count = f"count by (namespace, container) ({peers_only(live, labels_sel)})"
    return over_time("max_over_time", count, window_s, interval_s)


def sample_time(function: str, sel: str, labels_sel: str, window_s: int, interval_s: int) -> str:
    """First (``min``) or last (``max``) step, on an ``interval_s`` grid, with a fresh sample.

    Within one interval of the first or last sample: ``timestamp()`` of a function is the step
    time, which keeps the subquery fast, where ``timestamp()`` of a selector is not.
    """
    live = f"timestamp(last_over_time({MEMORY}{sel}[{seconds(interval_s)}]))"
    stamps = per_workload(function, peers_only(live, labels_sel))
    return over_time(f"{function}_over_time", stamps, window_s, interval_s)


def crash_loop_back_off(namespace: str, container: str, window_s: int) -> str:
    """Every sample of a workload's containers waiting in ``CrashLoopBackOff`` in the window:
    the kubelet's own verdict that a container keeps exiting and is being held back."""
    sel = selector(matcher("namespace", namespace), matcher("container", container), CRASH_LOOP)
    return raw(WAITING_REASON, sel, window_s)


def increase_total(metric: str, sel: str, window_s: int) -> str:
    """Sum over the selected series of the counter's increase over the window."""
    return f"sum(increase({metric}{sel}[{seconds(window_s)}]))"


def recording_rules(schema: MetricSchema) -> str:
    """A Prometheus rule file recording, every 5 minutes, what peer profiles aggregate.

    With these rules in place, ``fetch_peer_profiles(..., recorded=True)`` reads one point per
    pod per 5 minutes instead of evaluating subqueries over raw samples. Rule groups are not
    aligned to 5-minute boundaries, so recorded windows may straddle the benchmark's windows.
    """
    sel = selector(CONTAINERS_ONLY)
    per_pod = "max by (namespace, pod, container)"
    half = max(1, schema.scrape_interval_s // 2)
    rate = sample_rate(CPU, sel, schema.scrape_interval_s)
    window = f"[{WINDOW_S * 1000 - 1}ms"
    rules = [
        {"record": REC_CPU_MEAN, "expr": f"{per_pod} ({cpu_window_mean(sel)})"},
        {"record": REC_MEMORY_MEAN, "expr": f"{per_pod} ({memory_window_mean(sel)})"},
        {
            "record": REC_CPU_MAX,
            "expr": f"{per_pod} (max_over_time(({rate}){window}:{seconds(half)}] offset 1ms))",
        },
        {
            "record": REC_PODS,
            "expr": "count by (namespace, container) "
            f"(last_over_time({MEMORY}{sel}{window}] offset 1ms))",
        },
    ]
    body = {"groups": [{"name": RECORDING_GROUP, "interval": f"{WINDOW_S}s", "rules": rules}]}
    return str(yaml.safe_dump(body, sort_keys=False, width=1000))


def recorded_over(
    function: str, metric: str, labels_sel: str, window_s: int, q: float | None = None
) -> str:
    """``function`` over a recorded per-pod series, largest over a workload's pods, for peers."""
    arg = f"{q!r}, " if q is not None else ""
    inner = f"{function}({arg}{metric}[{seconds(window_s)}])"
    return per_workload("max", peers_only(inner, labels_sel, window_s))
