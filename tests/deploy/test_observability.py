"""Health, readiness and metrics of the running bot, over HTTP, in both Slack modes."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib
import yaml

from bot.observability.metrics import REGISTRY
from bot.slack.runtime import Runtime, StartupError
from tests.approvals.doubles import RecordingExecutor
from tests.emulators import slack_requests as sr
from tests.emulators.kube_api import KubeEmulator
from tests.emulators.openai_api import OpenAIEmulator
from tests.emulators.slack_api import SlackEmulator
from tests.prometheus.conftest import PromServer
from tests.slack.conftest import StartBot, settings_for
from tests.slack.scenario import card_update, eventually, posted_card

ASK = "size items-api --language python --rps 50-100 --namespace team-a"


def get(port: int | None, path: str) -> tuple[int, str, str]:
    assert port is not None
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=15) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read().decode()


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def kube() -> Iterator[KubeEmulator]:
    emu = KubeEmulator()
    emu.start()
    yield emu
    emu.stop()


def kubeconfig_for(server: str, path: Path) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": server}}],
                "users": [{"name": "u", "user": {"token": "kube-token-value"}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    return path


def test_healthz_and_metrics_in_http_mode(start_bot: StartBot) -> None:
    bot = start_bot(http=True)
    assert bot.sender is not None
    for port in (bot.runtime.port, bot.runtime.health_port):
        status, kind, body = get(port, "/healthz")
        assert (status, json.loads(body)) == (200, {"status": "ok"})
        assert kind == "application/json"

    mentions = sample("sizer_slack_events_total", type="app_mention")
    sizes = sample("sizer_commands_total", command="size")
    bot.sender.event(sr.event_callback(sr.mention(ASK, "UREQ")))
    bot.sender.command(sr.slash(ASK, "UREQ"))
    _, ref, ts = posted_card(bot.emulator, "items-api")
    eventually(lambda: sample("sizer_commands_total", command="size") == sizes + 1)
    assert sample("sizer_slack_events_total", type="app_mention") == mentions + 1

    approved = sample("sizer_approvals_total", outcome="approved", reason="")
    refused = sample("sizer_approvals_total", outcome="refused", reason="NotAuthorised")
    applied = sample("sizer_applies_total", outcome="applied")
    bot.sender.interactive(sr.block_action("sizer_approve", ref.encode(), "UREQ", "C1", ts))
    eventually(
        lambda: (
            sample("sizer_approvals_total", outcome="refused", reason="NotAuthorised")
            == refused + 1
        )
    )
    bot.sender.interactive(sr.block_action("sizer_approve", ref.encode(), "UAPPROVER", "C1", ts))
    card_update(bot.emulator, ts, "Applied")
    eventually(lambda: sample("sizer_applies_total", outcome="applied") == applied + 1)
    assert sample("sizer_approvals_total", outcome="approved", reason="") == approved + 1

    status, kind, text = get(bot.runtime.health_port, "/metrics")
    assert status == 200 and kind.startswith("text/plain")
    # Proposals by state come from this bot's Redis prefix: one applied, one still proposed.
    assert 'sizer_proposals{state="applied"} 1.0' in text
    assert 'sizer_proposals{state="proposed"} 1.0' in text
    assert "sizer_proposal_transitions_total" in text and "process_cpu_seconds_total" in text
    # HTTP mode answers the same paths on the Slack port.
    assert get(bot.runtime.port, "/metrics")[0] == 200


def test_slack_errors_and_429s_are_counted(start_bot: StartBot) -> None:
    bot = start_bot(http=True)
    assert bot.sender is not None
    limited = sample("sizer_slack_rate_limited_total", method="chat.postMessage")
    bot.emulator.inject_429("chat.postMessage", times=1, retry_after=0)
    bot.sender.event(sr.event_callback(sr.mention(ASK, "UREQ")))
    posted_card(bot.emulator, "items-api")
    assert sample("sizer_slack_rate_limited_total", method="chat.postMessage") == limited + 1

    errors = sample("sizer_slack_api_errors_total", method="no.such.method", error="unknown_method")
    with pytest.raises(Exception, match="unknown_method"):
        bot.runtime.client.api_call("no.such.method")
    assert sample(
        "sizer_slack_api_errors_total", method="no.such.method", error="unknown_method"
    ) == (errors + 1)


def test_probes_are_served_in_socket_mode(start_bot: StartBot) -> None:
    bot = start_bot(http=False)
    assert bot.runtime.port is None  # no Slack HTTP server in Socket Mode
    assert get(bot.runtime.health_port, "/healthz")[0] == 200
    assert get(bot.runtime.health_port, "/metrics")[0] == 200
    assert get(bot.runtime.health_port, "/nothing")[0] == 404


def _runtime(
    emulator: SlackEmulator, rp: tuple[redis_lib.Redis, str], access: Path, **more: Any
) -> Runtime:
    settings = settings_for(emulator, rp[1], access, **more)
    runtime = Runtime.create(settings, RecordingExecutor(), http=False, redis=rp[0])
    runtime.start("127.0.0.1", 0)
    return runtime


def test_readyz_names_every_dependency_and_all_answer(
    emulator: SlackEmulator,
    rp: tuple[redis_lib.Redis, str],
    access_file: Path,
    prom: PromServer,
    kube: KubeEmulator,
    terraform_bin: str,
    tmp_path: Path,
) -> None:
    llm = OpenAIEmulator()
    llm.start()
    runtime = _runtime(
        emulator,
        rp,
        access_file,
        PROMETHEUS_URL=prom.url,
        KUBECONFIG=str(kubeconfig_for(kube.url, tmp_path / "kubeconfig")),
        SIZER_TERRAFORM_BIN=terraform_bin,
        OPENAI_BASE_URL=llm.base_url,
        OPENAI_API_KEY="sk-test-readiness-key",
    )
    try:
        status, _, body = get(runtime.health_port, "/readyz")
    finally:
        runtime.stop()
        llm.stop()
    report = json.loads(body)
    assert status == 200, report
    assert report["status"] == "ready"
    assert set(report["checks"]) == {"redis", "prometheus", "kubernetes", "terraform", "llm"}
    assert all(c["status"] == "ok" for c in report["checks"].values())
    assert report["checks"]["kubernetes"]["detail"] == "API server v1.31.0"
    assert report["checks"]["terraform"]["detail"].startswith("Terraform v1.")
    assert any(m == "GET" and p.rstrip("/") == "/version" for m, p, _ in kube.requests)


def test_readyz_says_which_dependency_is_down(
    emulator: SlackEmulator,
    rp: tuple[redis_lib.Redis, str],
    access_file: Path,
    kube: KubeEmulator,
    tmp_path: Path,
) -> None:
    runtime = _runtime(
        emulator,
        rp,
        access_file,
        PROMETHEUS_URL=f"http://127.0.0.1:{free_port()}",
        KUBECONFIG=str(kubeconfig_for(kube.url, tmp_path / "kubeconfig")),
        SIZER_TERRAFORM_BIN=str(tmp_path / "no-terraform-here"),
    )
    try:
        status, _, body = get(runtime.health_port, "/readyz")
        assert get(runtime.health_port, "/healthz")[0] == 200  # alive, just not ready
    finally:
        runtime.stop()
    report = json.loads(body)
    assert status == 503 and report["status"] == "not ready"
    checks = report["checks"]
    assert checks["redis"]["status"] == "ok" and checks["kubernetes"]["status"] == "ok"
    assert checks["prometheus"]["status"] == "error"
    assert (
        "ConnectionRefused" in checks["prometheus"]["detail"]
        or "URLError" in (checks["prometheus"]["detail"])
    )
    assert checks["terraform"]["status"] == "error"
    assert "not found" in checks["terraform"]["detail"]
    assert "llm" not in checks  # not configured, not checked


def test_a_busy_health_port_is_one_line_naming_the_setting(
    emulator: SlackEmulator, rp: tuple[redis_lib.Redis, str], access_file: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = settings_for(emulator, rp[1], access_file, SIZER_HEALTH_PORT=port)
        runtime = Runtime.create(settings, RecordingExecutor(), http=True, redis=rp[0])
        with pytest.raises(StartupError, match=rf"^SIZER_HEALTH_PORT {port} on 127.0.0.1: "):
            runtime.start("127.0.0.1", 0)
        runtime.stop()


def test_sizer_worker_serves_the_health_endpoints_too(tmp_path: Path) -> None:
    """The chart probes the worker's pods like the bot's: a real ``sizer worker`` process."""
    import os
    import secrets
    import signal
    import subprocess
    import sys
    import time
    import urllib.request

    from tests.emulators.kube_api import KubeEmulator

    kube = KubeEmulator()
    kube.add_node("hv-1", cpu="8", memory="32Gi")
    kube.start()
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SIZER_", "SLACK_"))},
        "KUBECONFIG": str(kube.write_kubeconfig(tmp_path / "kubeconfig")),
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_API_URL": "http://127.0.0.1:1/",
        "SIZER_REDIS_PREFIX": f"test-worker-{secrets.token_hex(4)}:",
        "SIZER_HEALTH_PORT": str(port),
        "SIZER_WORK_DIR": str(tmp_path),
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "bot", "worker", "--host", "127.0.0.1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline, status = time.monotonic() + 60, None
        while status is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    status = r.status
            except OSError:
                time.sleep(0.3)
        assert status == 200, worker.poll()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            assert b"sizer_" in r.read()
    finally:
        worker.send_signal(signal.SIGTERM)
        output = worker.communicate(timeout=30)[0].decode()
        kube.stop()
    assert worker.returncode == 0, output
    assert "Traceback" not in output
