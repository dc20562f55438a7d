"""Peers from the cluster: the catalog cold start sizes against, built from Prometheus.

In production (``PROMETHEUS_URL`` set) the catalog is every workload the cluster's Prometheus
knows, aggregated on the server (:func:`tools.prometheus.fetch_peer_profiles`, subqueries or
the recording rules), rebuilt by a periodic job and cached in Redis so every replica and
worker sizes against the same peers without querying Prometheus per request. Until the first
refresh has run, or when Prometheus has nothing, the bundled history stands in and every
proposal sized from it says so on its card.

Key (under the configured prefix): ``feedback:peers`` — JSON of the catalog and when it was built.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable

from redis import Redis

from bot.settings import FeedbackSettings, PrometheusSettings
from tools.catalog import PeerCatalog
from tools.prometheus import PeerSelector, PrometheusClient, fetch_peer_profiles
from tools.sizing.profiles import PeerProfile

__all__ = ["BUNDLED_NOTE", "ClusterCatalog", "is_bundled"]

log = logging.getLogger(__name__)
CLUSTER_SOURCE = "prometheus"
BUNDLED_NOTE = (
    "Sized from the bundled demo history (public recordings of Online Boutique and "
    "TrainTicket), not from this cluster's workloads: set PROMETHEUS_URL for peers from "
    "the cluster."
)


def is_bundled(catalog: PeerCatalog) -> bool:
    return not catalog.source.startswith(CLUSTER_SOURCE)


class ClusterCatalog:
    def __init__(
        self,
        redis: Redis,
        prefix: str,
        prometheus: PrometheusSettings,
        feedback: FeedbackSettings,
        fallback: Callable[[], PeerCatalog],
        clock: Callable[[], float],
    ) -> None:
        self._redis = redis
        self._key = prefix + "feedback:peers"
        self._prometheus = prometheus
        self._feedback = feedback
        self._fallback = fallback
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: tuple[str, PeerCatalog] | None = None

    def refresh(self) -> PeerCatalog:
        """Rebuild from Prometheus and cache in Redis; errors propagate (the job retries)."""
        target = self._prometheus.target()
        if target is None:
            raise ValueError("PROMETHEUS_URL is not set")
        url = target.url
        at = self._clock()
        with PrometheusClient(target, timeout_s=self._prometheus.timeout_s) as client:
            found = fetch_peer_profiles(
                client,
                self._prometheus.metric_schema(),
                PeerSelector(),
                self._feedback.peers_window_s,
                at,
                recorded=self._feedback.peers_recorded,
            )
        if not found.profiles:
            raise ValueError("Prometheus has no workload with complete usage to use as a peer")
        window_d = self._feedback.peers_window_s / 86_400
        source = f"{CLUSTER_SOURCE} {url} ({window_d:g} d to {int(at)})"
        body = {
            "source": source,
            "built_at": at,
            "profiles": [p.model_dump() for p in found.profiles],
            "incomplete": list(found.incomplete),
        }
        self._redis.set(self._key, json.dumps(body))
        log.info("peer catalog: %d workloads from %s", len(found.profiles), url)
        return self.current()

    def current(self) -> PeerCatalog:
        """The cached cluster catalog, or the bundled history until one is built."""
        raw = self._redis.get(self._key)
        if not raw:
            return self._fallback()
        text = str(raw)
        with self._lock:
            if self._cached is not None and self._cached[0] == text:
                return self._cached[1]  # keeps its peak calibration cached
            body = json.loads(text)
            catalog = PeerCatalog(
                tuple(PeerProfile.model_validate(p) for p in body["profiles"]),
                str(body["source"]),
            )
            self._cached = (text, catalog)
            return catalog
