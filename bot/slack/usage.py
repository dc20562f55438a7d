"""The applied workload's own usage from Prometheus, for "why" charts.

Only built when ``PROMETHEUS_URL`` is set; any failure leaves the chart to the peers.
"""

from __future__ import annotations

from bot.service import LiveUsage
from bot.settings import Settings
from tools.prometheus import MetricSchema, NoData, PrometheusClient, Workload, fetch_usage_history
from tools.sizing.profiles import PeerProfile, profile_from_history

WINDOW_S = 24 * 3600


def prometheus_usage(settings: Settings, timeout_s: float = 10.0) -> LiveUsage:
    url = settings.prometheus_url
    if not url:
        raise ValueError("PROMETHEUS_URL is not set")
    schema = MetricSchema(
        request_rate_metric=settings.request_rate_metric,
        app_label=settings.app_label,
        language_label=settings.language_label,
        framework_label=settings.framework_label,
        kind_label=settings.kind_label,
        team_label=settings.team_label,
        scrape_interval_s=settings.prometheus_scrape_interval_s,
    )

    def lookup(namespace: str, workload: str) -> PeerProfile | None:
        with PrometheusClient(url, timeout_s=timeout_s) as client:
            try:
                history = fetch_usage_history(
                    client, schema, Workload(name=workload, namespace=namespace), WINDOW_S
                )
            except NoData:
                return None
        return profile_from_history(history)

    return lookup
