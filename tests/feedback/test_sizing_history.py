"""A check's right-size reads the workload's week, not only the day since the apply.

Judged on the window since the revision's apply; sized from up to
``SIZER_CHECK_RIGHTSIZE_HISTORY_S`` before the check. The Online Boutique recording's
cartservice peaked at ~149 MiB early in its 44 h and stays under ~35 MiB in the last 10 h, so
a limit sized from the last 10 h alone would be killed by a repeat of that peak.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote_plus

import httpx
import pytest

from bot.approvals.models import ProposalState, Sizing
from bot.feedback.checker import CheckDeferred
from bot.feedback.spec import CheckSpec
from tests.approvals.doubles import Clock, redis_prefix
from tests.feedback.conftest import RecordingPoster
from tests.feedback.helpers import apply, components, settings
from tests.prometheus.conftest import PromServer
from tools.prometheus import MetricSchema, Workload, fetch_usage_history
from tools.sizing.quantities import parse_memory

WORKLOAD, NAMESPACE = "cartservice", "online-boutique"
REPORT_S = 10 * 3600
OVERSIZED = Sizing(replicas=1, cpu_request="2", memory_request="1Gi", memory_limit="2Gi")


def _peaks(prom: PromServer, schema: MetricSchema, due: float) -> tuple[float, float]:
    """The largest memory sample of the last 10 h and of the whole recording."""
    with prom.client() as client:
        workload = Workload(name=WORKLOAD, namespace=NAMESPACE)
        recent = fetch_usage_history(client, schema, workload, REPORT_S, due)
        whole = fetch_usage_history(client, schema, workload, 7 * 86_400, due)
    return float(recent.concat("memory").max()), float(whole.concat("memory").max())


def _rightsize_limit(prom: PromServer, history_s: int) -> tuple[float, float]:
    now = prom.nezha_at
    applied_at = now - REPORT_S
    with redis_prefix() as (client, prefix):
        config = settings(
            prefix,
            prom.url,
            SIZER_CHECK_REPORT_AFTER_S=REPORT_S,
            SIZER_CHECK_RIGHTSIZE_HISTORY_S=history_s,
        )
        parts = components(config, client, Clock(applied_at), RecordingPoster())
        proposal = apply(parts, WORKLOAD, NAMESPACE, OVERSIZED)
        spec = CheckSpec(
            proposal_id=proposal.id,
            revision=proposal.revision,
            check="report",
            applied_at=applied_at,
            due_at=now,
        )
        done = parts.checker.run(spec, final_attempt=True)
        assert done == f"proposed revision {proposal.revision + 1}"
        revised = parts.service.get(proposal.id)
        assert revised.state == ProposalState.PROPOSED
        limit = revised.current.sizing.memory_limit
        assert limit is not None
        window = next(r for r in revised.reasons if r.field == "memory_limit").window
        return float(parse_memory(limit)), float(window.split(" h ")[0])


def test_the_right_size_limit_covers_the_peak_before_the_apply(
    prom: PromServer, schema: MetricSchema
) -> None:
    recent, whole = _peaks(prom, schema, prom.nezha_at)
    assert whole > 3 * recent  # the recording's early peak is far above the last 10 h

    limit, hours = _rightsize_limit(prom, 7 * 86_400)
    assert limit > whole
    assert hours > 40  # the whole recording (44 h), not the 10 h since the apply

    # sized from the window since the apply alone, the limit falls below that peak
    short, short_hours = _rightsize_limit(prom, 3_600)
    assert short < whole and 9 < short_hours <= 10


class _FailingLongReads:
    """An HTTP proxy in front of the real Prometheus that answers 500 to the week's reads."""

    def __init__(self, upstream: str, marker: str) -> None:
        self.failing = True
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.do_POST()

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if proxy.failing and marker in unquote_plus(body.decode() + self.path):
                    self.send_response(500)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                answer = httpx.request(
                    self.command,
                    upstream + self.path,
                    content=body,
                    headers={"Content-Type": self.headers.get("Content-Type", "text/plain")},
                )
                self.send_response(answer.status_code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def test_a_prometheus_fault_reading_the_week_is_retried_not_reported_as_done(
    prom: PromServer,
) -> None:
    proxy = _FailingLongReads(prom.url, "[604800s]")
    now = prom.nezha_at
    applied_at = now - REPORT_S
    poster = RecordingPoster()
    try:
        with redis_prefix() as (client, prefix):
            config = settings(prefix, proxy.url, SIZER_CHECK_REPORT_AFTER_S=REPORT_S)
            parts = components(config, client, Clock(applied_at), poster)
            proposal = apply(parts, WORKLOAD, NAMESPACE, OVERSIZED)
            spec = CheckSpec(
                proposal_id=proposal.id,
                revision=proposal.revision,
                check="report",
                applied_at=applied_at,
                due_at=now,
            )
            with pytest.raises(CheckDeferred):
                parts.checker.run(spec, final_attempt=False)
            assert poster.posted == []  # nothing said, nothing claimed: rq retries it

            proxy.failing = False
            done = parts.checker.run(spec, final_attempt=True)
            assert done == f"proposed revision {proposal.revision + 1}"
            assert [p.kind for p in poster.posted] == ["message", "chart", "card"]
    finally:
        proxy.close()
