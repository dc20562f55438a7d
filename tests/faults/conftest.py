"""Fault injection: a Redis of the test's own (killed, stalled, restarted) and the Slack bot on it.

The shared Redis on 6379 is never touched: each test starts ``redis-server`` on a free port in
its temporary directory, so it can ``kill`` it, stall it with ``DEBUG SLEEP`` and start it again
on the same data directory.
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib

from bot.slack.runtime import Runtime
from tests.approvals.doubles import Clock, RecordingExecutor
from tests.emulators.slack_api import SlackEmulator
from tests.emulators.slack_requests import SignedSender
from tests.slack.conftest import ACCESS_YAML, SECRET, Bot, settings_for


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class PrivateRedis:
    """A ``redis-server`` process owned by one test."""

    data: Path
    persistence: tuple[str, ...] = ("--save", "", "--appendonly", "no")
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        self.data.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.data),
                "--enable-debug-command",
                "yes",
                *self.persistence,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                self.client().ping()
                return self
            except redis_lib.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def client(self, **kwargs: Any) -> redis_lib.Redis:
        return redis_lib.Redis.from_url(self.url, decode_responses=True, **kwargs)

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None

    def stall(self, seconds: float) -> threading.Thread:
        """Block the server for ``seconds`` (``DEBUG SLEEP``), from a connection of its own."""
        started = threading.Event()

        def sleep() -> None:
            client = self.client()
            started.set()
            client.execute_command("DEBUG", "SLEEP", seconds)
            client.close()

        thread = threading.Thread(target=sleep, daemon=True)
        thread.start()
        started.wait(5)
        time.sleep(0.1)  # the DEBUG SLEEP is being served
        return thread


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path / "redis").start()
    yield server
    server.kill()


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    emu = SlackEmulator(groups={"SPLATFORM": ["UGROUPMEMBER"]}).start()
    yield emu
    emu.stop()
    assert emu.invalid == [], "the bot sent payloads Slack would reject"


@pytest.fixture
def access(tmp_path: Path) -> Path:
    path = tmp_path / "access.yaml"
    path.write_text(ACCESS_YAML)
    return path


@pytest.fixture
def bots(
    slack: SlackEmulator, private_redis: PrivateRedis, access: Path
) -> Iterator[list[Runtime]]:
    runtimes: list[Runtime] = []
    yield runtimes
    for runtime in runtimes:
        runtime.stop()


def start_bot(
    runtimes: list[Runtime],
    slack: SlackEmulator,
    server: PrivateRedis,
    access: Path,
    *,
    executor: RecordingExecutor | None = None,
    **settings: Any,
) -> Bot:
    executor = executor or RecordingExecutor()
    values: dict[str, Any] = {
        "REDIS_URL": server.url,
        "SIZER_SWEEP_INTERVAL_S": 0.3,
        "SIZER_SLACK_DELIVERY_BACKOFF_S": 0.05,
    }
    values.update(settings)
    configured = settings_for(slack, "sizer:", access, **values)
    client = server.client(socket_timeout=20)
    clock = Clock(time.time())
    runtime = Runtime.create(configured, executor, http=True, redis=client, clock=clock)
    runtime.start("127.0.0.1", 0)
    runtimes.append(runtime)
    sender = SignedSender(f"http://127.0.0.1:{runtime.port}/slack/events", SECRET)
    return Bot(runtime, executor, slack, client, "sizer:", clock, sender)


@pytest.fixture
def rp() -> Iterator[tuple[redis_lib.Redis, str]]:
    from tests.approvals.doubles import redis_prefix

    with redis_prefix() as pair:
        yield pair


# The Kubernetes emulator and the Terraform launcher, for the tests that run the real executor.
from tests.executors.conftest import emulator, terraform_bin  # noqa: E402, F401
