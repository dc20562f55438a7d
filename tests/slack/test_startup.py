"""Start-up refuses with one line naming the variable when a credential is missing or wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis as redis_lib

from bot import cli
from bot.slack.runtime import Runtime, StartupError
from tests.approvals.doubles import RecordingExecutor
from tests.emulators.slack_api import SlackEmulator
from tests.slack.conftest import settings_for

Pair = tuple[redis_lib.Redis, str]


@pytest.mark.parametrize(
    ("http", "override", "expected"),
    [
        (False, {"SLACK_BOT_TOKEN": ""}, "SLACK_BOT_TOKEN is not set"),
        (False, {"SLACK_BOT_TOKEN": "xoxp-user-token"}, "SLACK_BOT_TOKEN is not a bot token"),
        (False, {"SLACK_BOT_TOKEN": "xoxb-wrong"}, "SLACK_BOT_TOKEN was rejected by Slack"),
        (False, {"SLACK_APP_TOKEN": ""}, "SLACK_APP_TOKEN is not set"),
        (False, {"SLACK_APP_TOKEN": "xoxb-not-an-app-token"}, "SLACK_APP_TOKEN is not an app"),
        (False, {"SLACK_APP_TOKEN": "xapp-wrong"}, "SLACK_APP_TOKEN was rejected by Slack"),
        (True, {"SLACK_SIGNING_SECRET": ""}, "SLACK_SIGNING_SECRET is not set"),
        (True, {"REDIS_URL": "redis://:secret@127.0.0.1:1/0"}, "REDIS_URL redis://:***@"),
        (True, {"SLACK_API_URL": "http://127.0.0.1:1/api/"}, "SLACK_API_URL"),
    ],
)
def test_bad_credentials_stop_start_up(
    emulator: SlackEmulator,
    rp: Pair,
    access_file: Path,
    http: bool,
    override: dict[str, str],
    expected: str,
) -> None:
    settings = settings_for(emulator, rp[1], access_file, **override)
    with pytest.raises(StartupError) as info:
        Runtime.create(settings, RecordingExecutor(), http=http)
    assert expected in str(info.value)
    assert "\n" not in str(info.value)
    assert "secret" not in str(info.value).replace("SECRET", "")


def test_bad_access_file_names_the_variable(
    emulator: SlackEmulator, rp: Pair, tmp_path: Path
) -> None:
    path = tmp_path / "access.yaml"
    path.write_text("namespaces:\n  team-a:\n    approvers: {users: [alice]}\n")
    settings = settings_for(emulator, rp[1], path)
    with pytest.raises(StartupError, match=r"SIZER_ACCESS_FILE: .*users.0.*Slack user ID"):
        Runtime.create(settings, RecordingExecutor(), http=True)


def test_cli_prints_one_line_and_exits_2(
    emulator: SlackEmulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-wrong")
    monkeypatch.setenv("SLACK_APP_TOKEN", emulator.app_token)
    monkeypatch.setenv("SLACK_API_URL", emulator.url)
    assert cli.main(["serve"]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        "sizer serve: SLACK_BOT_TOKEN was rejected by Slack (invalid_auth)"
    ]


def test_executor_that_cannot_start_stops_start_up(
    emulator: SlackEmulator, rp: Pair, access_file: Path
) -> None:
    def no_cluster(settings: object) -> RecordingExecutor:
        raise RuntimeError("no Kubernetes configuration: set KUBECONFIG")

    settings = settings_for(emulator, rp[1], access_file)
    with pytest.raises(StartupError, match="executor: no Kubernetes configuration: set KUBECONFIG"):
        Runtime.create(settings, build_executor=no_cluster, http=True)
