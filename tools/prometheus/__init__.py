"""Usage history and verification inputs from a real Prometheus (fixed PromQL templates only).

``queries`` holds the templates and label-matcher escaping, ``client`` the typed client and its
errors, ``history`` the builders of the sizing engine's inputs.
"""

from tools.prometheus.client import (
    EmptyResult,
    MalformedResponse,
    MissingMetric,
    NoData,
    PartialData,
    PrometheusClient,
    PrometheusError,
    PrometheusTarget,
    PrometheusUnreachable,
    QueryFailed,
)
from tools.prometheus.history import (
    PeerProfiles,
    PeerSelector,
    Workload,
    fetch_peer_histories,
    fetch_peer_profiles,
    fetch_usage_history,
    profiles_from_raw,
)
from tools.prometheus.queries import MetricSchema

__all__ = [
    "EmptyResult",
    "MalformedResponse",
    "MetricSchema",
    "MissingMetric",
    "NoData",
    "PartialData",
    "PeerProfiles",
    "PeerSelector",
    "PrometheusClient",
    "PrometheusError",
    "PrometheusTarget",
    "PrometheusUnreachable",
    "QueryFailed",
    "Workload",
    "fetch_peer_histories",
    "fetch_peer_profiles",
    "fetch_usage_history",
    "profiles_from_raw",
]
