from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
import redis as redis_lib

from bot.cli import main
from tests.emulators.openai_api import OpenAIEmulator


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    prefix = f"test-ask-{secrets.token_hex(4)}:"
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "KUBECONFIG", "KUBERNETES_SERVICE_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("SIZER_REDIS_PREFIX", prefix)
    yield
    client = redis_lib.Redis.from_url("redis://127.0.0.1:6379/0")
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


def test_help_and_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "help"]) == 0
    out = capsys.readouterr()
    assert "I size Kubernetes workloads" in out.out and out.err == ""
    assert main(["ask", "  "]) == 2
    assert "TEXT is empty" in capsys.readouterr().err
    assert main(["ask", "--thread", "no spaces!", "help"]) == 2
    assert "--thread" in capsys.readouterr().err


def test_offline_sizing_with_a_clarifying_question(capsys: pytest.CaptureFixture[str]) -> None:
    # no cluster here: no note up front on any message, the answer that would store says why
    assert main(["ask", "--thread", "t1", "size a FastAPI service `items-api`"]) == 0
    out = capsys.readouterr()
    assert "requests per second" in out.out and out.err == ""
    assert main(["ask", "--thread", "t1", "~80 rps"]) == 0
    out = capsys.readouterr()
    assert "Which container image should `items-api` run?" in out.out and out.err == ""
    assert main(["ask", "--thread", "t1", "ghcr.io/acme/items-api:1.4.2"]) == 0
    out = capsys.readouterr()
    text = out.out
    assert text.startswith("Sized `items-api`: 2 replicas") and out.err == ""
    assert (
        "Not stored as a proposal, so there is nothing to approve or change yet: proposals " in text
    )
    assert text.count("cannot be stored here (executor: no Kubernetes configuration") == 1
    assert "Similar Python services use about" in text
    # Follow-ups offline, against the request of this thread
    assert main(["ask", "--thread", "t1", "why so much memory?"]) == 0
    why = capsys.readouterr().out
    assert "we reserve" in why and "allow up to" in why
    assert main(["ask", "--thread", "t1", "actually make that 180 rps"]) == 0
    assert "Sized `items-api`" in capsys.readouterr().out


def test_llm_path_and_fallback(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    llm = OpenAIEmulator()
    llm.start()
    try:
        monkeypatch.setenv("OPENAI_BASE_URL", llm.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test")
        llm.reply("Hello from the model.")
        assert main(["ask", "hi"]) == 0
        assert capsys.readouterr().out.strip() == "Hello from the model."
        llm.fail(502, "bad gateway")
        monkeypatch.setenv("SIZER_LLM_MAX_RETRIES", "0")
        assert main(["ask", "help"]) == 0
        out = capsys.readouterr().out
        assert "answered HTTP 502" in out and "I size Kubernetes workloads" in out
    finally:
        llm.stop()


def test_redis_down_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    assert main(["ask", "help"]) == 2
    assert capsys.readouterr().err.startswith("sizer ask: REDIS_URL: cannot reach Redis")
