"""The closed-loop replay: kills, reactions, checks and the scores, on small made-up traces."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bot.cli import main
from tests.backtest.builders import constant, history, pod, write_trace
from tools.backtest.loop import (
    LOOP,
    LoopRecommender,
    LoopSettings,
    _Replay,
    run_loop,
    sizer_goal_missed,
    vpa_updater_admits,
)
from tools.sizing.baselines import vpa
from tools.sizing.models import Policy, Recommendation, UsageHistory
from tools.sizing.oom import raise_after_oom
from tools.traces import load_trace

MiB = 2**20
POLICY = Policy()


def size(memory_limit: int, memory_request: int = 50 * MiB, cpu: float = 0.1) -> Recommendation:
    return Recommendation(
        service="svc",
        strategy="test",
        replicas=1,
        cpu_request_cores=cpu,
        memory_request_bytes=memory_request,
        memory_limit_bytes=memory_limit,
        confidence=0.5,
    )


def stepping(hours: int, jump_at_h: int, low: float, high: float) -> UsageHistory:
    """Memory at ``low`` that steps up to ``high`` after ``jump_at_h`` hours (60 s samples)."""
    n = hours * 60
    memory = [low if k < jump_at_h * 60 else high for k in range(n)]
    return history("svc", pod("svc-0", [k * 60 for k in range(n)], [0.05] * n, memory))


def test_the_oom_raise_covers_the_kill_and_cites_it() -> None:
    raised = raise_after_oom(size(100 * MiB), 130 * MiB, "2026-01-01 00:00 UTC")
    assert raised.memory_limit_bytes == 230 * MiB  # +100 MiB beats ×1.2 at this size
    big = raise_after_oom(size(1000 * MiB), 1200 * MiB, "t")
    assert big.memory_limit_bytes == 1440 * MiB  # ×1.2 beats +100 MiB
    reason = raised.reason("memory_limit")
    assert reason is not None and "OOM killed" in reason.text and "130Mi" in reason.text
    with pytest.raises(ValueError, match=">= 0"):
        raise_after_oom(size(100 * MiB), -1, "t")


def _never(history: UsageHistory, policy: Policy) -> Recommendation:
    raise ValueError("never re-sizes")


def test_a_kill_is_counted_once_and_a_raising_recommender_stops_further_kills() -> None:
    usage = stepping(12, 3, 80 * MiB, 150 * MiB)
    replay = _Replay(usage, LoopSettings(), POLICY)
    raising = replay.run(
        LoopRecommender(_never, continuous=False, on_kill="raise"), size(100 * MiB)
    )
    assert len(raising.kills) == 1 and raising.resizes == 1
    assert raising.size.memory_limit_bytes is not None
    assert raising.size.memory_limit_bytes >= 150 * MiB
    # a recommender blind to kills stays above its limit: one crossing, not one per sample
    waiting = replay.run(LoopRecommender(_never, continuous=False, on_kill="wait"), size(100 * MiB))
    assert len(waiting.kills) == 1 and waiting.resizes == 0


def test_a_service_that_keeps_crossing_is_killed_each_time() -> None:
    n = 12 * 60
    memory = [150 * MiB if (k // 30) % 2 else 80 * MiB for k in range(n)]  # 30 min up, 30 down
    usage = history("svc", pod("svc-0", [k * 60 for k in range(n)], [0.05] * n, memory))
    replay = _Replay(usage, LoopSettings(), POLICY)
    waiting = replay.run(LoopRecommender(_never, continuous=False, on_kill="wait"), size(100 * MiB))
    assert len(waiting.kills) == 12


def test_checks_right_size_and_the_slack_after_the_first_check_is_scored() -> None:
    usage = constant("svc", samples=24 * 60, cpu=0.05, memory=100 * MiB)
    replay = _Replay(usage, LoopSettings(check_every_s=6 * 3600), POLICY)
    start = size(400 * MiB, memory_request=300 * MiB, cpu=1.0)
    run = replay.run(LOOP["sizer"], start)
    assert run.resizes >= 1
    assert run.size.memory_request_bytes == pytest.approx(100 * MiB, rel=0.05)
    cpu, mem = replay.period_slack(run, 6 * 3600, 12 * 3600)
    assert cpu is not None and mem is not None
    assert abs(mem) < 0.05 and abs(cpu) < 0.1
    # before the first check the oversized launch size is what was in force
    launch_cpu, _ = replay.period_slack(run, 0, 6 * 3600 - 60)
    assert launch_cpu is not None and launch_cpu > 0.9


def _trace_dir(tmp: Path) -> Path:
    """Four Go services; ``grow`` doubles its memory after 8 h, the others are flat."""
    rng = np.random.default_rng(1)
    services = [f"{name},shop,go,grpc,grpc,,,{name}" for name in ("a", "b", "c", "grow")]
    rows = []
    for name in ("a", "b", "c", "grow"):
        for k in range(20 * 60):
            memory = 60 * MiB * (2 if name == "grow" and k >= 8 * 60 else 1)
            memory *= 1 + 0.02 * rng.random()
            cpu = 0.02 * (1 + 0.2 * rng.random())
            rows.append(f"{1_700_000_000 + k * 60},{name},{name}-0,{cpu:.6f},{int(memory)},1.0")
    return write_trace(tmp / "shop", services, rows)


def test_a_check_that_meets_every_goal_proposes_nothing() -> None:
    usage = constant("svc", samples=24 * 60, cpu=0.05, memory=100 * MiB)
    replay = _Replay(usage, LoopSettings(check_every_s=6 * 3600), POLICY)
    # requests at the usage, a limit above it: every check's goals are met, nothing changes
    right = size(200 * MiB, memory_request=100 * MiB, cpu=0.05)
    kept = replay.run(LOOP["sizer"], right)
    assert kept.resizes == 0 and kept.size == right
    period = usage.between(0, 6 * 3600)
    assert not sizer_goal_missed(right, usage, period)
    # 20 % too much memory requested misses "requests within 10 %"
    assert sizer_goal_missed(size(200 * MiB, memory_request=120 * MiB, cpu=0.05), usage, period)
    # a limit under the usage misses the peak goal with requests within 10 %
    assert sizer_goal_missed(size(98 * MiB, memory_request=95 * MiB, cpu=0.05), usage, period)


def test_loop_cli_writes_the_summary_and_per_service_details(tmp_path: Path) -> None:
    out = tmp_path / "loop.json"
    trace = str(_trace_dir(tmp_path))
    code = main(["backtest", trace, "--mode", "loop", "--check-every", "4h", "--json", str(out)])
    assert code == 0
    doc = json.loads(out.read_text())
    assert doc["mode"] == "loop" and doc["settings"]["check_every_s"] == 4 * 3600
    for name in ("sizer", "vpa", "krr-simple", "autopilot-mw"):
        summary = doc["summary"][name]
        for key in (
            "oom_events",
            "zero_oom_share",
            "launch_zero_oom_share",
            "median_cpu_slack",
            "median_mem_slack",
            "resizes",
        ):
            assert key in summary
    grow = next(s for s in doc["services"] if s["service"] == "grow")
    sizer = grow["recommenders"]["sizer"]
    # the step is above the launch limit: one kill, raised at once, and no second one
    assert sizer["oom_events"] <= 1
    assert sizer["final"]["memory_limit_bytes"] >= 120 * MiB
    assert doc["summary"]["sizer"]["oom_events"] == sum(
        s["recommenders"]["sizer"]["oom_events"] for s in doc["services"]
    )


def test_bad_loop_arguments_are_clear_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = str(_trace_dir(tmp_path))
    with pytest.raises(SystemExit):
        main(["backtest", trace, "--mode", "loop", "--check-every", "soon"])
    assert "not a duration" in capsys.readouterr().err
    assert main(["backtest", trace, "--mode", "loop", "--recommenders", "static"]) == 2
    assert "unknown recommender" in capsys.readouterr().err
    with pytest.raises(ValueError, match="unknown recommender"):
        run_loop(load_trace(Path(trace)), only=("nope",))


def test_vpa_updater_evicts_only_outside_the_recommended_range() -> None:
    usage = constant("svc", samples=24 * 60, cpu=0.2, memory=400 * MiB)
    target = vpa.recommend(usage, POLICY)
    assert not vpa_updater_admits(target, usage)
    starved = size(50 * MiB, memory_request=50 * MiB, cpu=0.2)
    assert vpa_updater_admits(starved, usage)


def test_services_replayed_in_several_processes_give_the_same_result(tmp_path: Path) -> None:
    trace = load_trace(_trace_dir(tmp_path))
    settings = LoopSettings(check_every_s=4 * 3600)
    alone = run_loop(trace, settings=settings, jobs=1)
    shared = run_loop(trace, settings=settings, jobs=2)
    assert shared.model_dump() == alone.model_dump()


def test_the_backtest_sizes_with_the_engine_settings_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trace = str(_trace_dir(tmp_path))

    def launch_limits(out: Path) -> dict[str, int]:
        argv = ["backtest", trace, "--mode", "loop", "--check-every", "4h", "--jobs", "1"]
        assert main([*argv, "--recommenders", "sizer", "--json", str(out)]) == 0
        doc = json.loads(out.read_text())
        return {
            s["service"]: s["recommenders"]["sizer"]["initial"]["memory_limit_bytes"]
            for s in doc["services"]
        }

    def rightsize_limits(out: Path) -> dict[str, int]:
        argv = ["backtest", trace, "--history-hours", "8", "--recommenders", "sizer"]
        assert main([*argv, "--json", str(out)]) == 0
        doc = json.loads(out.read_text())
        return {
            s["service"]: s["recommenders"]["sizer"]["memory_limit_bytes"] for s in doc["services"]
        }

    launch = launch_limits(tmp_path / "loop.json")
    right = rightsize_limits(tmp_path / "rightsize.json")
    # a launch that accepts more OOM risk gets a lower limit; a right-size with no absolute
    # headroom over the peak loses the 96 MiB
    monkeypatch.setenv("SIZER_COLDSTART__OOM_RISK", "0.2")
    monkeypatch.setenv("SIZER_RIGHTSIZE__PEAK_HEADROOM_BYTES", "0")
    risky = launch_limits(tmp_path / "loop-tuned.json")
    tight = rightsize_limits(tmp_path / "rightsize-tuned.json")
    for name in ("a", "b", "c"):
        assert risky[name] < launch[name]
        assert tight[name] < right[name] - 64 * MiB


def test_jobs_must_be_a_positive_whole_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = str(_trace_dir(tmp_path))
    with pytest.raises(SystemExit):
        main(["backtest", trace, "--mode", "loop", "--jobs", "0"])
    assert "--jobs must be a whole number from 1 to 64" in capsys.readouterr().err
