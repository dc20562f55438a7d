"""Charts for "why": peers, and the workload's own usage once it runs."""

from __future__ import annotations

import redis as redis_lib

from bot.approvals.models import ProposalState
from bot.slack.charts import usage_chart
from bot.slack.usage import prometheus_usage
from tests.approvals.doubles import RecordingExecutor, catalog, make_service
from tests.emulators import slack_requests as sr
from tests.slack.conftest import StartBot
from tests.slack.scenario import card_update, posted_card
from tests.slack.test_http_scenarios import _ask, _click
from tools.propose import SizeRequest
from tools.sizing.profiles import PeerProfile

Pair = tuple[redis_lib.Redis, str]
PNG = b"\x89PNG\r\n\x1a\n"


def _profile(name: str = "emailservice") -> PeerProfile:
    found = catalog().get(name)
    assert found is not None
    return found


def test_chart_needs_something_to_compare(rp: Pair) -> None:
    service = make_service(*rp, RecordingExecutor())
    proposal = service.size(SizeRequest(name="w", rps_low=1, rps_high=2), "U1")
    assert usage_chart(proposal, []) is None
    peers = usage_chart(proposal, [_profile()])
    own = usage_chart(proposal, [_profile()], own=_profile("frontend"))
    assert peers is not None and peers.startswith(PNG)
    assert own is not None and own.startswith(PNG) and own != peers


def test_live_usage_only_for_applied_workloads_and_failures_fall_back(rp: Pair) -> None:
    calls: list[tuple[str, str]] = []

    def lookup(namespace: str, workload: str) -> PeerProfile | None:
        calls.append((namespace, workload))
        if workload == "broken":
            raise ConnectionError("prometheus down")
        return _profile()

    service = make_service(*rp, RecordingExecutor(), live_usage=lookup)
    proposal = service.size(SizeRequest(name="w", namespace="team-a", rps_low=1, rps_high=2), "U1")
    assert service.live_profile(proposal) is None and calls == []
    applied = proposal.model_copy(update={"state": ProposalState.APPLIED})
    assert service.live_profile(applied) == _profile()
    broken = applied.model_copy(update={"workload": "broken"})
    assert service.live_profile(broken) is None
    assert calls == [("team-a", "w"), ("team-a", "broken")]


def test_prometheus_lookup_against_a_dead_server_raises_for_the_fallback() -> None:
    from bot.settings import Settings

    lookup = prometheus_usage(
        Settings.load(PROMETHEUS_URL="http://127.0.0.1:1", SIZER_PROMETHEUS_TIMEOUT_S=2).prometheus
    )
    try:
        lookup("team-a", "items-api")
    except Exception as exc:
        assert "127.0.0.1:1" in str(exc) or "onnect" in str(exc)
    else:
        raise AssertionError("a dead Prometheus must raise, so the chart falls back to peers")


def test_why_on_an_applied_workload_charts_its_own_usage(start_bot: StartBot) -> None:
    asked: list[tuple[str, str]] = []

    def lookup(namespace: str, workload: str) -> PeerProfile | None:
        asked.append((namespace, workload))
        return _profile("frontend")

    bot = start_bot(live_usage=lookup)
    assert bot.sender is not None
    _ask(bot)
    _, ref, ts = posted_card(bot.emulator, "items-api")
    _click(bot, "sizer_approve", ref.encode(), "UAPPROVER", ts)
    card_update(bot.emulator, ts, "Applied")
    bot.sender.event(sr.event_callback(sr.mention("why team-a/items-api", "U2", ts="17.1")))
    bot.emulator.wait_for("files.completeUploadExternal")
    assert asked == [("team-a", "items-api")]
    assert any(data.startswith(PNG) for data in bot.emulator.uploads.values())
