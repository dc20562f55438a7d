"""The applied workload's own usage from Prometheus, for "why" charts.

Only built when ``PROMETHEUS_URL`` is set; any failure leaves the chart to the peers.
"""

from __future__ import annotations

from bot.service import LiveUsage
from bot.settings import PrometheusSettings
from tools.prometheus import NoData, PrometheusClient, Workload, fetch_usage_history
from tools.sizing.profiles import PeerProfile, profile_from_history

WINDOW_S = 24 * 3600


def prometheus_usage(settings: PrometheusSettings) -> LiveUsage:
    target = settings.target()
    if target is None:
        raise ValueError("PROMETHEUS_URL is not set")
    schema = settings.metric_schema()
    timeout_s = settings.timeout_s

    def lookup(namespace: str, workload: str) -> PeerProfile | None:
        with PrometheusClient(target, timeout_s=timeout_s) as client:
            try:
                history = fetch_usage_history(
                    client, schema, Workload(name=workload, namespace=namespace), WINDOW_S
                )
            except NoData:
                return None
        return profile_from_history(history)

    return lookup
