"""With a clusters file, a proposal's checks read its own cluster's Prometheus.

Cluster ``a`` (the default) has no ``prometheus_url`` and uses ``PROMETHEUS_URL``: the lab
trace, where ``orders`` runs with a 256 Mi limit and is OOM-killed. Cluster ``b`` has its own
Prometheus, where ``orders`` runs with 512 Mi and never is. Cluster ``c`` has none, and ``d``
names one that does not answer. Real Redis, real service path, two real Prometheus servers.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest

from bot.approvals.models import Proposal
from bot.feedback.checker import CheckDeferred, Checker
from bot.feedback.spec import CheckSpec
from tests.approvals.doubles import Clock, redis_prefix
from tests.feedback.cluster_b import ClusterB
from tests.feedback.conftest import RecordingPoster
from tests.feedback.helpers import apply, components, settings
from tests.prometheus.conftest import PromServer
from tools.prometheus import PrometheusTarget

HOUR = 3600


def _report(proposal: Proposal, applied_at: float, now: float) -> CheckSpec:
    return CheckSpec(
        proposal_id=proposal.id,
        revision=proposal.revision,
        check="report",
        applied_at=applied_at,
        due_at=now,
    )


def _clusters(path: Path, b_url: str) -> Path:
    path.write_text(
        "default: a\n"
        "clusters:\n"
        "  - name: a\n"
        "  - name: b\n"
        f"    prometheus_url: {b_url}\n"
        "  - name: c\n"
        "  - name: d\n"
        "    prometheus_url: http://127.0.0.1:9\n",
        encoding="utf-8",
    )
    return path


def _goal_lines(poster: RecordingPoster, proposal: Proposal) -> str:
    (report,) = [m for m in poster.messages() if m.proposal.id == proposal.id]
    return json.dumps(report.blocks)


def test_each_proposal_is_checked_against_its_own_clusters_prometheus(
    prom: PromServer, prom_b: ClusterB, tmp_path: Path, poster: RecordingPoster
) -> None:
    now = time.time()
    applied_at = now - 12 * HOUR
    clusters_file = _clusters(tmp_path / "clusters.yaml", prom_b.url)
    with redis_prefix() as (client, prefix):
        config = settings(
            prefix,
            prom.url,
            SIZER_CLUSTERS_FILE=str(clusters_file),
            SIZER_CHECK_RETRIES=2,
        )
        parts = components(config, client, Clock(applied_at), poster)
        on_b = apply(parts, "orders", "lab", None, cluster="b")
        on_a = apply(parts, "orders", "lab", None, cluster="a")
        assert (on_a.cluster, on_b.cluster) == ("a", "b")
        checker = parts.checker

        assert checker.run(_report(on_b, applied_at, now), final_attempt=True) != "could not check"
        b = _goal_lines(poster, on_b)
        assert "0 OOM kill(s) reported by kube-state-metrics" in b
        assert "memory limit 512Mi" in b and "256Mi" not in b  # cluster B's size in force

        checker.run(_report(on_a, applied_at, now), final_attempt=True)
        a = _goal_lines(poster, on_a)
        assert ":x: *no OOM kill*: 1 OOM kill(s)" in a and "memory limit 256Mi" in a
        assert checker.prometheus_target(on_b) == PrometheusTarget(
            url=prom_b.url, source=f"prometheus_url of cluster b in {clusters_file}"
        )
        # the default cluster, without its own: PROMETHEUS_URL
        assert checker.prometheus_target(on_a) == PrometheusTarget(
            url=prom.url, source="PROMETHEUS_URL"
        )


def test_a_cluster_without_prometheus_or_whose_prometheus_is_down_could_not_be_checked(
    prom: PromServer, prom_b: ClusterB, tmp_path: Path, poster: RecordingPoster
) -> None:
    now = time.time()
    applied_at = now - 12 * HOUR
    with redis_prefix() as (client, prefix):
        config = settings(
            prefix,
            prom.url,
            SIZER_CLUSTERS_FILE=str(_clusters(tmp_path / "clusters.yaml", prom_b.url)),
        )
        parts = components(config, client, Clock(applied_at), poster)
        on_c = apply(parts, "orders", "lab", None, cluster="c")
        on_d = apply(parts, "orders", "lab", None, cluster="d")
        checker = parts.checker

        # permanent: reported on the first attempt, never with the default cluster's data
        assert checker.run(_report(on_c, applied_at, now), final_attempt=False) == (
            "could not check"
        )
        (said,) = poster.messages()
        assert "could not check" in said.text
        assert "cluster c has no Prometheus configured" in said.text
        assert checker.prometheus_target(on_c) is None

        # d's Prometheus does not answer: retried (rq), then reported, naming the cluster
        spec = _report(on_d, applied_at, now)
        with pytest.raises(CheckDeferred, match=r"127\.0\.0\.1:9\b") as deferred:
            checker.run(spec, final_attempt=False)
        # the URL came from the clusters file, so that is where the message points
        where = f"check prometheus_url of cluster d in {tmp_path / 'clusters.yaml'}"
        assert where in str(deferred.value) and "PROMETHEUS_URL" not in str(deferred.value)
        assert len(poster.messages()) == 1
        assert checker.run(spec, final_attempt=True) == "could not check"
        last = poster.messages()[-1]
        assert last.proposal.id == on_d.id
        assert (
            "could not check" in last.text and "Prometheus of cluster d did not answer" in last.text
        )


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "bot.feedback.checker" and r.levelno == logging.WARNING
    ]


def test_the_watch_warns_once_for_a_cluster_without_prometheus(
    prom: PromServer,
    prom_b: ClusterB,
    tmp_path: Path,
    poster: RecordingPoster,
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = time.time()
    applied_at = now - 12 * HOUR
    with redis_prefix() as (client, prefix):
        clusters_file = _clusters(tmp_path / "clusters.yaml", prom_b.url)
        config = settings(prefix, prom.url, SIZER_CLUSTERS_FILE=str(clusters_file))
        parts = components(config, client, Clock(applied_at), poster)
        on_c = sorted(apply(parts, w, "lab", None, cluster="c").id for w in ("orders", "idle"))
        with caplog.at_level(logging.WARNING, logger="bot.feedback.checker"):
            for interval in range(3):
                results = parts.checker.watch_all(now + interval * 300)
                assert results == [f"{pid}: watch: could not check" for pid in on_c]
        # two workloads, three intervals: one line for the cluster
        assert _warnings(caplog) == [
            "OOM watch of cluster c cannot run: cluster c has no Prometheus configured "
            "(set its prometheus_url in SIZER_CLUSTERS_FILE)"
        ]
        assert poster.messages() == []


def test_the_watch_warns_again_when_a_cluster_loses_its_prometheus_again(
    prom: PromServer,
    prom_b: ClusterB,
    tmp_path: Path,
    poster: RecordingPoster,
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = time.time()
    applied_at = now - 12 * HOUR
    with redis_prefix() as (client, prefix):
        clusters_file = _clusters(tmp_path / "clusters.yaml", prom_b.url)
        config = settings(prefix, prom.url, SIZER_CLUSTERS_FILE=str(clusters_file))
        parts = components(config, client, Clock(applied_at), poster)
        idle = apply(parts, "idle", "lab", None, cluster="c").id
        applied = parts.check_scheduler.applied_revisions
        targets: dict[str, PrometheusTarget | None] = {"c": None}
        checker = Checker(
            service=parts.service,
            redis=client,
            prefix=prefix,
            prometheus=config.prometheus,
            feedback=config.feedback,
            policy=config.policy,
            rightsize=config.rightsize,
            poster=poster,
            outcomes=parts.outcomes,
            applied_revision=applied.revision,
            applied=applied.all,
            prometheus_for=lambda cluster: targets.get(cluster),
            superseded_by=applied.superseded_by,
        )
        with caplog.at_level(logging.WARNING, logger="bot.feedback.checker"):
            checker.watch_all(now)
            checker.watch_all(now + 300)
            assert len(_warnings(caplog)) == 1
            targets["c"] = PrometheusTarget(url=prom.url, source="the test")
            assert checker.watch_all(now + 600) == [f"{idle}: watched: no OOM kill or crash loop"]
            targets["c"] = None
            checker.watch_all(now + 900)
            checker.watch_all(now + 1200)
        assert len(_warnings(caplog)) == 2
        assert _warnings(caplog)[0] == _warnings(caplog)[1]
