"""Checks after an apply, through real Redis, rq and the real Prometheus of the fixtures.

The clock given to Sizer is set back so that the apply happened in the past: the
backfilled traces end now, and rq's scheduler (real time) finds the checks of that apply due.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from rq.registry import ScheduledJobRegistry

from bot.approvals.models import ProposalState, Sizing
from bot.cli import main
from bot.feedback.spec import CheckSpec, job_namespace
from tests.approvals.doubles import Clock, redis_prefix
from tests.emulators.kube_api import KubeEmulator
from tests.emulators.slack_api import SlackEmulator
from tests.feedback.conftest import RecordingPoster
from tests.feedback.helpers import apply, burst, components, settings
from tests.prometheus.conftest import LAB_SIZES, PromServer
from tools.prometheus import MetricSchema, Workload, fetch_usage_history
from tools.sizing.quantities import format_cpu, format_memory, parse_memory
from tools.sizing.scoring import pooled_window_means, score

DAY = 86_400
GREEN = "currencyservice"  # the Online Boutique service with the most CPU: rounding stays < 10 %
BOUTIQUE = "online-boutique"
# The recording's second part covers the last ~12 h: the green cases report after 10 h.
REPORT_S = 10 * 3600


def _fitting_size(prom: PromServer, schema: MetricSchema, due: float) -> Sizing:
    """Requests at the p95 of the day before ``due``, the limit well above its peak."""
    with prom.client() as client:
        history = fetch_usage_history(
            client, schema, Workload(name=GREEN, namespace=BOUTIQUE), DAY, due
        )
    cpu = float(np.percentile(pooled_window_means(history.pods, memory=False), 95))
    mem = float(np.percentile(pooled_window_means(history.pods, memory=True), 95))
    peak = float(history.concat("memory").max())
    return Sizing(
        replicas=1,
        cpu_request=format_cpu(cpu),
        memory_request=format_memory(mem * 1.01),
        memory_limit=format_memory(peak * 1.5),
    )


def test_a_workload_meeting_every_goal_gets_a_green_report_and_no_proposal(
    prom: PromServer, schema: MetricSchema, poster: RecordingPoster
) -> None:
    applied_at = time.time() - REPORT_S - 120
    with redis_prefix() as (client, prefix):
        config = settings(prefix, prom.url, SIZER_CHECK_REPORT_AFTER_S=REPORT_S)
        parts = components(config, client, Clock(applied_at), poster)
        sizing = _fitting_size(prom, schema, applied_at + REPORT_S)
        proposal = apply(parts, GREEN, BOUTIQUE, sizing)
        assert proposal.state == ProposalState.APPLIED

        assert burst(parts)

        messages = poster.messages()
        assert [m.text.split(":")[1] for m in messages] == ["white_check_mark"] * 2, messages
        assert "Launch check (1 h)" in messages[0].text and "Report after 10 h" in messages[1].text
        assert "every goal met" in messages[1].text
        report = json.dumps(messages[1].blocks)
        for goal in ("no OOM kill", "no CPU saturation", "requests within 10 %", "limit covers"):
            assert goal in report
        charts = [p for p in poster.posted if p.kind == "chart"]
        assert len(charts) == 2 and all(c.png.startswith(b"\x89PNG") for c in charts)
        assert not [p for p in poster.posted if p.kind == "card"]
        after = parts.service.get(proposal.id)
        assert after.state == ProposalState.APPLIED and after.revision == proposal.revision
        outcome = parts.outcomes.get(proposal.id)
        assert outcome is not None and outcome.goals_met and outcome.check == "report"


def test_an_oom_at_24_h_gets_a_memory_raise_that_would_have_prevented_the_kill(
    prom: PromServer, poster: RecordingPoster
) -> None:
    applied_at = time.time() - DAY - 60
    with redis_prefix() as (client, prefix):
        parts = components(settings(prefix, prom.url), client, Clock(applied_at), poster)
        proposal = apply(parts, "orders", "lab", None)

        assert burst(parts)

        report = next(m for m in poster.messages() if "Report after 24 h" in m.text)
        assert ":warning:" in report.text and "no OOM kill" in report.text
        cards = [p for p in poster.posted if p.kind == "card"]
        assert len(cards) == 1
        revised = parts.service.get(proposal.id)
        assert revised.state == ProposalState.PROPOSED and revised.revision == 2
        assert revised.current.author == "sizer" and "OOM kill" in revised.current.note
        limit_reason = next(r for r in revised.reasons if r.field == "memory_limit")
        assert "OOM kill(s) on orders-5c7d9-aaaaa" in limit_reason.text

        new = revised.current.sizing
        assert new.memory_limit is not None
        killed_at = LAB_SIZES["orders"].memory_limit_bytes
        assert killed_at is not None and parse_memory(new.memory_limit) > killed_at
        # on the whole trace (26 h, three kills at the old 256 Mi limit) it never crosses
        pods = prom.lab.usage["orders"].pods
        before = score(pods, 0.12, 0.5, 200 * 2**20, killed_at)
        after = score(
            pods, 0.12, 0.5, parse_memory(new.memory_request), parse_memory(new.memory_limit)
        )
        assert before.oom_events == 3 and after.oom_events == 0
        trail = parts.service.trail(proposal.id)
        assert trail[-1].from_state == "applied" and trail[-1].to_state == "proposed"


def test_the_watch_reports_an_oom_kill_at_once_with_a_memory_raise(
    prom: PromServer, poster: RecordingPoster
) -> None:
    now = time.time()
    with redis_prefix() as (client, prefix):
        parts = components(settings(prefix, prom.url), client, Clock(now - 12 * 3600), poster)
        proposal = apply(parts, "orders", "lab", None)
        results = parts.checker.watch_all(now)
        assert results == [f"{proposal.id}: proposed revision 2"]
        assert "OOM kill or crash loop" in poster.messages()[0].text
        # a second watch does not report the same revision again
        assert parts.checker.watch_all(now + 300) == [f"{proposal.id}: skipped: already reported"]
        assert len(poster.messages()) == 1


def test_a_newer_proposal_applied_to_the_workload_stops_the_older_ones_checks(
    prom: PromServer, poster: RecordingPoster
) -> None:
    now = time.time()
    with redis_prefix() as (client, prefix):
        parts = components(settings(prefix, prom.url), client, Clock(now - 12 * 3600), poster)
        first = apply(parts, "orders", "lab", None)
        bigger = Sizing(replicas=1, cpu_request="300m", memory_request="600Mi", memory_limit="1Gi")
        second = apply(parts, "orders", "lab", bigger)
        assert second.id != first.id and second.state == ProposalState.APPLIED
        # one report per workload: the watch looks at the proposal that runs now ...
        results = parts.checker.watch_all(now)
        assert [r.split(":")[0] for r in results] == [second.id]
        # ... and the older proposal's scheduled checks say why they stop
        spec = CheckSpec(
            proposal_id=first.id, revision=1, check="report", applied_at=now - 86_400, due_at=now
        )
        done = parts.checker.run(spec, final_attempt=True)
        assert done == f"skipped: {second.id} was applied to lab/orders since"
        assert parts.check_scheduler.applied_revisions.superseded_by(second.id) is None


def test_a_schedule_survives_a_restart_of_every_process(
    prom: PromServer, poster: RecordingPoster
) -> None:
    applied_at = time.time() - 3600 + 3  # the launch check falls due in 3 s
    with redis_prefix() as (client, prefix):
        config = settings(prefix, prom.url)
        first = components(config, client, Clock(applied_at), poster)
        proposal = apply(first, "orders", "lab", None)
        registry = ScheduledJobRegistry(queue=first.check_queue)
        ids = set(registry.get_job_ids())
        assert {f"-r1-{c}" for c in ("launch", "report", "day1", "day2")} == {
            i[i.rindex("-r1-") :] for i in ids
        }
        assert not burst(first) and poster.posted == []
        first.rq_redis.close()
        del first  # every process gone: only Redis remains

        time.sleep(3.5)
        later = RecordingPoster()
        restarted = components(config, client, Clock(time.time()), later)
        assert burst(restarted)
        assert len(later.messages()) == 1
        assert "Launch check (1 h)" in later.messages()[0].text
        remaining = set(ScheduledJobRegistry(queue=restarted.check_queue).get_job_ids())
        assert len(remaining) == 3 and all("-launch" not in i for i in remaining)
        assert proposal.id in restarted.check_scheduler.applied_revisions.all()


def test_two_replicas_and_two_workers_report_each_check_once(
    prom: PromServer, schema: MetricSchema
) -> None:
    applied_at = time.time() - REPORT_S - 120
    with redis_prefix() as (client, prefix):
        config = settings(prefix, prom.url, SIZER_CHECK_REPORT_AFTER_S=REPORT_S)
        posters = [RecordingPoster(), RecordingPoster()]
        replicas = [components(config, client, Clock(applied_at), p) for p in posters]
        due = applied_at + REPORT_S
        proposal = apply(replicas[0], GREEN, BOUTIQUE, _fitting_size(prom, schema, due))
        assert replicas[1].check_scheduler.applied(proposal) == []  # the other replica: no-op
        threads = [threading.Thread(target=burst, args=(r,)) for r in replicas]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        texts = sorted(m.text for p in posters for m in p.messages())
        assert len(texts) == 2 and sum("Launch" in t for t in texts) == 1, texts
        assert all("every goal met" in t for t in texts)

        # a requeued copy of a check that already ran is refused by its claim
        spec = CheckSpec(
            proposal_id=proposal.id,
            revision=proposal.revision,
            check="report",
            applied_at=applied_at,
            due_at=due,
        )
        assert replicas[1].checker.run(spec, final_attempt=True) == "skipped: already reported"


def test_a_check_whose_prometheus_is_down_is_retried_then_reported_as_could_not_check(
    poster: RecordingPoster,
) -> None:
    applied_at = time.time() - 2 * 3600
    with redis_prefix() as (client, prefix):
        config = settings(prefix, "http://127.0.0.1:9", SIZER_CHECK_RETRIES=2)
        parts = components(config, client, Clock(applied_at), poster)
        proposal = apply(parts, "orders", "lab", None)
        assert burst(parts)
        messages = poster.messages()
        assert len(messages) == 1
        assert "could not check" in messages[0].text and "Prometheus" in messages[0].text
        job_id = CheckSpec(
            proposal_id=proposal.id,
            revision=1,
            check="launch",
            applied_at=applied_at,
            due_at=applied_at + 3600,
        ).job_id(prefix)
        job = parts.check_queue.fetch_job(job_id)
        assert job is not None and job.retries_left == 0  # both retries were used


def test_outcomes_export_as_chat_fine_tuning_examples(
    prom: PromServer, schema: MetricSchema, poster: RecordingPoster, tmp_path, monkeypatch
) -> None:
    applied_at = time.time() - REPORT_S - 120
    with redis_prefix() as (client, prefix):
        config = settings(prefix, prom.url, SIZER_CHECK_REPORT_AFTER_S=REPORT_S)
        parts = components(config, client, Clock(applied_at), poster)
        apply(parts, GREEN, BOUTIQUE, _fitting_size(prom, schema, applied_at + REPORT_S))
        burst(parts)
        monkeypatch.setenv("SIZER_REDIS_PREFIX", prefix)
        out = tmp_path / "outcomes.jsonl"
        assert main(["export-finetune", str(out)]) == 0
        lines = [json.loads(line) for line in out.read_text().splitlines()]
        assert len(lines) == 1
        roles = [m["role"] for m in lines[0]["messages"]]
        assert roles == ["system", "user", "assistant"]
        asked = json.loads(lines[0]["messages"][1]["content"])
        assert asked["service"] == GREEN and asked["request"]["language"] == "python"
        answer = json.loads(lines[0]["messages"][2]["content"])
        assert {"cpu_request", "memory_request", "memory_limit", "why"} <= set(answer)
        assert any("met every goal" in w for w in answer["why"])


def test_export_finetune_refuses_a_bad_path(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export-finetune", str(tmp_path / "out.json")]) == 2
    assert "must end in .jsonl" in capsys.readouterr().err


def test_in_process_scheduler_and_workers_run_a_due_check_and_stop(
    prom: PromServer, schema: MetricSchema, poster: RecordingPoster
) -> None:
    """What `sizer serve` runs: rq's scheduler and workers in threads, stopped on request."""
    applied_at = time.time() - 3600 - 1  # only the launch check is due
    with redis_prefix() as (client, prefix):
        config = settings(prefix, prom.url, SIZER_CHECK_REPORT_AFTER_S=REPORT_S)
        parts = components(config, client, Clock(applied_at), poster)
        proposal = apply(parts, GREEN, BOUTIQUE, _fitting_size(prom, schema, applied_at + REPORT_S))
        runner = parts.check_runner(2)
        runner.start()
        try:
            deadline = time.monotonic() + 30
            while not poster.messages():
                assert time.monotonic() < deadline, "the due check never ran"
                time.sleep(0.2)
        finally:
            started = time.monotonic()
            runner.stop()
        assert time.monotonic() - started < 20
        assert len(poster.messages()) == 1 and "Launch check" in poster.messages()[0].text
        # the OOM watch was seeded at start and, due, ran (silently: no kill here)
        seeded = parts.check_queue.fetch_job(
            f"{job_namespace(prefix)}-watch-{int(applied_at // 300) + 1}"
        )
        assert (
            seeded is not None
            and seeded.return_value() == f"{proposal.id}: watched: no OOM kill or crash loop"
        )


def test_sizer_worker_burst_runs_what_is_due_and_exits(
    prom: PromServer, schema: MetricSchema, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    slack = SlackEmulator().start()
    kube = KubeEmulator()
    kube.start()
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "emu", "cluster": {"server": kube.url}}],
                "users": [{"name": "sizer", "user": {"token": "t0ken"}}],
                "contexts": [{"name": "emu", "context": {"cluster": "emu", "user": "sizer"}}],
                "current-context": "emu",
            }
        )
    )
    applied_at = time.time() - 3600 - 1
    try:
        with redis_prefix() as (client, prefix):
            config = settings(prefix, prom.url, SIZER_CHECK_REPORT_AFTER_S=REPORT_S)
            parts = components(config, client, Clock(applied_at), RecordingPoster())
            apply(parts, GREEN, BOUTIQUE, _fitting_size(prom, schema, applied_at + REPORT_S))
            for name, value in {
                "SIZER_REDIS_PREFIX": prefix,
                "PROMETHEUS_URL": prom.url,
                "SLACK_API_URL": slack.url,
                "SIZER_CHECK_REPORT_AFTER_S": str(REPORT_S),
                "KUBECONFIG": str(kubeconfig),
                "SIZER_WORK_DIR": str(tmp_path / "work"),
            }.items():
                monkeypatch.setenv(name, value)
            monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
            assert main(["worker", "--burst"]) == 2  # reports need the bot token
            monkeypatch.setenv("SLACK_BOT_TOKEN", slack.bot_token)
            assert main(["worker", "--burst"]) == 0
            posted = slack.wait_for(
                "chat.postMessage", lambda c: "Launch check" in str(c.params.get("text")), 10
            )
            assert posted.params["thread_ts"] == "1700000000.000100"
            assert [c for c in slack.calls if "files" in c.method]
    finally:
        slack.stop()
        kube.stop()
