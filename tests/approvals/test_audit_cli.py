"""``sizer audit`` prints the stream, filtered by workload."""

from __future__ import annotations

import json

import pytest
import redis as redis_lib

from bot import cli
from tests.approvals.doubles import RecordingExecutor, make_service
from tools.propose import SizeRequest

Pair = tuple[redis_lib.Redis, str]


def test_audit_prints_every_transition_of_a_workload(
    rp: Pair, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    client, prefix = rp
    service = make_service(client, prefix, RecordingExecutor())
    mine = service.size(
        SizeRequest(name="items-api", namespace="team-a", rps_low=5, rps_high=10), "UREQUESTER"
    )
    service.size(SizeRequest(name="other", namespace="team-a", rps_low=5, rps_high=10), "U2")
    service.approve(mine.card_ref(), "UAPPROVER")
    monkeypatch.setenv("SIZER_REDIS_PREFIX", prefix)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")

    assert cli.main(["audit", "team-a/items-api"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4
    assert "proposed  by UREQUESTER" in lines[0]
    assert "applying → applied  by UAPPROVER" in lines[3]
    assert all("other" not in line for line in lines)

    assert cli.main(["audit", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 5
    assert {r["workload"] for r in rows} == {"items-api", "other"}
    assert all(r["sha256"] and r["at"] and r["actor"] for r in rows)


def test_audit_with_unreachable_redis_says_which_setting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    assert cli.main(["audit"]) == 2
    assert capsys.readouterr().err.startswith("sizer audit: REDIS_URL redis://127.0.0.1:1/0")
