"""The grouped settings: every documented variable reaches its group, typos are refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.settings import Settings, UnknownSetting


def test_flat_variables_land_in_their_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://example:6380/2")
    monkeypatch.setenv("SIZER_PROMETHEUS_TIMEOUT_S", "7")
    monkeypatch.setenv("SIZER_POLICY__CPU_LIMIT", "burst")
    monkeypatch.setenv("SIZER_COLDSTART__OOM_RISK", "0.05")
    monkeypatch.setenv("SIZER_RIGHTSIZE__PEAK_HEADROOM_BYTES", "0")
    settings = Settings.load(SIZER_WORKERS=3)
    assert settings.redis.url == "redis://example:6380/2"
    assert settings.prometheus.timeout_s == 7
    assert settings.policy.cpu_limit == "burst"
    assert settings.coldstart.oom_risk == 0.05
    assert settings.rightsize.peak_headroom_bytes == 0
    assert settings.runtime.workers == 3


def test_an_override_no_group_reads_is_refused() -> None:
    with pytest.raises(UnknownSetting, match="SIZER_WORKRES"):
        Settings.load(SIZER_WORKRES=3)


def test_a_bad_value_names_the_variable() -> None:
    with pytest.raises(ValidationError) as caught:
        Settings.load(SIZER_WORKERS=0)
    assert caught.value.errors()[0]["loc"] == ("SIZER_WORKERS",)


def test_every_documented_variable_is_read() -> None:
    names = Settings.env_names()
    for documented in ("SLACK_BOT_TOKEN", "KUBECONFIG", "SIZER_HISTORY_DIR", "SIZER_POLICY"):
        assert documented in names
