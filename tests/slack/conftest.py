from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib

from bot.service import LiveUsage
from bot.settings import Settings
from bot.slack.runtime import Runtime
from tests.approvals.doubles import Clock, RecordingExecutor, redis_prefix
from tests.emulators.slack_api import SlackEmulator
from tests.emulators.slack_requests import SignedSender

SECRET = "test-signing-secret"
ACCESS_YAML = """
namespaces:
  team-a:
    approvers: {users: [UAPPROVER], groups: [SPLATFORM]}
    capacity: {max_replicas: 10, max_pod_memory: 4Gi}
"""


@dataclass
class Bot:
    runtime: Runtime
    executor: RecordingExecutor
    emulator: SlackEmulator
    redis: redis_lib.Redis
    prefix: str
    clock: Clock
    sender: SignedSender | None = None
    extra: list[Runtime] = field(default_factory=list)


def settings_for(emulator: SlackEmulator, prefix: str, access: Path, **more: Any) -> Settings:
    values: dict[str, Any] = {
        "SLACK_BOT_TOKEN": emulator.bot_token,
        "SLACK_APP_TOKEN": emulator.app_token,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": emulator.url,
        "SIZER_REDIS_PREFIX": prefix,
        "SIZER_ACCESS_FILE": str(access),
        "SIZER_WORKERS": 2,
        "SIZER_SLACK_MAX_RETRIES": 2,
        "SIZER_APPLY_LOCK_TTL_S": 2,
    }
    values.update(more)
    return Settings.load(**values)


@pytest.fixture
def emulator() -> Iterator[SlackEmulator]:
    emu = SlackEmulator(
        groups={"SPLATFORM": ["UGROUPMEMBER"]},
        users={
            "UAPPROVER": {"display_name": "ana", "tz": "Europe/Amsterdam"},
            "UREQUESTER": {"display_name": "rui", "tz": "America/New_York"},
            "UGROUPMEMBER": {"display_name": "kim", "tz": "Asia/Tokyo"},
        },
    ).start()
    yield emu
    emu.stop()
    assert emu.invalid == [], "the bot sent payloads Slack would reject"


@pytest.fixture
def rp() -> Iterator[tuple[redis_lib.Redis, str]]:
    with redis_prefix() as pair:
        yield pair


@pytest.fixture
def access_file(tmp_path: Path) -> Path:
    path = tmp_path / "access.yaml"
    path.write_text(ACCESS_YAML)
    return path


StartBot = Callable[..., Bot]


@pytest.fixture
def start_bot(
    emulator: SlackEmulator, rp: tuple[redis_lib.Redis, str], access_file: Path
) -> Iterator[StartBot]:
    client, prefix = rp
    runtimes: list[Runtime] = []

    def start(
        *,
        http: bool = True,
        executor: RecordingExecutor | None = None,
        clock: Clock | None = None,
        live_usage: LiveUsage | None = None,
    ) -> Bot:
        executor = executor or RecordingExecutor()
        clock = clock or Clock(time.time())
        settings = settings_for(emulator, prefix, access_file)
        runtime = Runtime.create(settings, executor, http=http, clock=clock, live_usage=live_usage)
        runtime.start("127.0.0.1", 0)
        runtimes.append(runtime)
        sender = (
            SignedSender(f"http://127.0.0.1:{runtime.port}/slack/events", SECRET) if http else None
        )
        return Bot(runtime, executor, emulator, client, prefix, clock, sender)

    yield start
    for runtime in runtimes:
        runtime.stop()
