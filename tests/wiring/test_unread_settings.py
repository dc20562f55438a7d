"""A misspelt ``SIZER_*`` variable is named on stderr instead of silently ignored."""

from __future__ import annotations

import pytest

from bot.cli import main
from bot.settings import Settings


def test_a_misspelt_setting_is_named_with_the_one_it_is_close_to(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SIZER_POLCY__MIN_REPLICAS", "3")
    monkeypatch.setenv("SIZER_CHEKS", "false")
    monkeypatch.setenv("SIZER_POLICY__MIN_REPLICAS", "2")  # read: not reported
    assert main(["propose", "--name", "items-api", "--rps", "5"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "sizer: warning: SIZER_CHEKS is not a setting Sizer reads (did you mean SIZER_CHECKS?); "
        "ignored",
        "sizer: warning: SIZER_POLCY__MIN_REPLICAS is not a setting Sizer reads (did you mean "
        "SIZER_POLICY__MIN_REPLICAS?); ignored",
    ]


def test_kubernetes_service_links_and_every_read_name_are_not_reported() -> None:
    environ = {
        "SIZER_SERVICE_HOST": "10.0.0.1",
        "SIZER_SERVICE_PORT": "8080",
        "SIZER_SERVICE_PORT_HTTP": "8080",
        "SIZER_PORT": "tcp://10.0.0.1:8080",
        "SIZER_PORT_8080_TCP_ADDR": "10.0.0.1",
        "SIZER_REDIS_SERVICE_HOST": "10.0.0.2",
        "SIZER_REDIS_PORT_6379_TCP": "tcp://10.0.0.2:6379",
        "SIZER_RIGHTSIZE__PEAK_HEADROOM_BYTES": "0",
        "SIZER_NOTHING": "1",
        **{name: "x" for name in Settings.env_names()},
    }
    assert Settings.unread(environ) == [("SIZER_NOTHING", None)]


@pytest.mark.parametrize("url", ["127.0.0.1:9090", "prometheus", "http://", "http:// x"])
def test_a_prometheus_url_without_its_scheme_stops_start_up_in_one_line(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PROMETHEUS_URL", url)
    assert main(["verify", "cartservice"]) == 2
    assert capsys.readouterr().err == (
        "sizer: setting PROMETHEUS_URL: give the server's base URL with its scheme, e.g. "
        f"http://prometheus:9090 (got {url!r})\n"
    )


def test_verify_at_names_the_unit_it_takes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["verify", "cartservice", "--at", "yesterday"])
    assert stop.value.code == 2
    assert "argument --at: give Unix seconds, e.g. " in capsys.readouterr().err
