"""Peers from the cluster: the catalog built from Prometheus by an rq job, cached in Redis."""

from __future__ import annotations

from bot.service import BUNDLED_HISTORY
from tests.approvals.doubles import Clock, redis_prefix
from tests.feedback.conftest import RecordingPoster
from tests.feedback.helpers import REQUESTER, burst, components, settings
from tests.prometheus.conftest import PromServer
from tools.propose import SizeRequest

ASK = SizeRequest(name="items-api", namespace="lab", language="python", rps_low=10, rps_high=30)


def test_the_peer_catalog_comes_from_prometheus_and_is_shared_through_redis(
    prom: PromServer, poster: RecordingPoster
) -> None:
    with redis_prefix() as (client, prefix):
        parts = components(settings(prefix, prom.url), client, Clock(prom.now), poster)
        before = parts.catalog_source()()
        assert before.bundled
        demo = parts.service.size(ASK, REQUESTER)
        assert BUNDLED_HISTORY in demo.reasons  # the card says the peers are the demo's

        scheduler = parts.check_scheduler
        scheduler.schedule_peer_refresh(slot=scheduler.current_slot("peers"))
        assert burst(parts)

        # another replica, with a Prometheus that is down: it reads the cached catalog
        other = components(
            settings(prefix, "http://127.0.0.1:9"), client, Clock(prom.now), RecordingPoster()
        )
        catalog = other.catalog_source()()
        assert not catalog.bundled and catalog.source.startswith("prometheus ")
        assert {"currencyservice", "orders"} <= set(catalog.names())
        sized = other.service.size(ASK, REQUESTER)
        assert BUNDLED_HISTORY not in sized.reasons
        peers = {p for r in sized.reasons for p in r.peers}
        assert peers and peers <= set(catalog.names())
        # the next refresh is scheduled (one job per slot)
        next_id = scheduler.schedule_peer_refresh()
        assert parts.check_queue.fetch_job(next_id) is not None
