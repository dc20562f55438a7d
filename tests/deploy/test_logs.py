"""Structured logs: one JSON object a line, the apply's context on its lines, no credential."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as redis_lib

from bot.observability.logs import REDACTED, configure_logging, log_context, secret_values
from bot.slack.runtime import Runtime, StartupError
from tests.approvals.doubles import RecordingExecutor
from tests.emulators import slack_requests as sr
from tests.emulators.slack_api import SlackEmulator
from tests.slack.conftest import SECRET, StartBot, settings_for
from tests.slack.scenario import card_update, posted_card

ASK = "size items-api --language python --rps 50-100 --namespace team-a"
OPENAI_KEY = "sk-live-0123456789abcdefghij"
REDIS_PASSWORD = "redis-pass-4711"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The root logger writing JSON at DEBUG into a buffer; pytest's handlers restored after."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield io.StringIO()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def lines(buffer: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_no_credential_reaches_the_log(
    captured: io.StringIO, start_bot: StartBot, emulator: SlackEmulator, access_file: Path
) -> None:
    bot = start_bot(http=True)
    settings = settings_for(
        emulator,
        bot.prefix,
        access_file,
        OPENAI_API_KEY=OPENAI_KEY,
        REDIS_URL=f"redis://sizer:{REDIS_PASSWORD}@127.0.0.1:6379/0",
    )
    secrets = [emulator.bot_token, emulator.app_token, SECRET, OPENAI_KEY, REDIS_PASSWORD]
    assert sorted(secret_values(settings)) == sorted(secrets)
    configure_logging("json", "DEBUG", secret_values(settings), stream=captured)

    # A whole conversation at DEBUG: slack_sdk, urllib3 and Bolt log requests and headers.
    assert bot.sender is not None
    bot.sender.event(sr.event_callback(sr.mention(ASK, "UREQ")))
    _, ref, ts = posted_card(emulator, "items-api")
    bot.sender.interactive(sr.block_action("sizer_approve", ref.encode(), "UAPPROVER", "C1", ts))
    card_update(emulator, ts, "Applied")
    # Code that carelessly logs a credential, in the message, the arguments and a traceback.
    log = logging.getLogger("sizer.test")
    log.info("connecting with %s and %s", emulator.bot_token, settings.redis.url)
    log.warning("Authorization: Bearer %s", OPENAI_KEY)
    try:
        raise RuntimeError(f"signing secret {SECRET} and app token {emulator.app_token}")
    except RuntimeError:
        log.exception("failed")
    # Tokens shaped like Slack's or OpenAI's are caught even when not configured here.
    log.info("other tokens xoxb-999-888-abcdef xapp-1-A1-2-ffff sk-abcdefghijklmnop")

    text = captured.getvalue()
    records = lines(captured)  # every line is one JSON object
    assert len(records) > 20
    assert any(str(r.get("logger", "")).startswith("slack_") for r in records)
    for secret in [*secrets, "xoxb-999-888-abcdef", "xapp-1-A1-2-ffff", "sk-abcdefghijklmnop"]:
        assert secret not in text
    assert text.count(REDACTED) >= 7
    assert "redis://sizer:[redacted]@127.0.0.1:6379/0" in text


def test_apply_lines_carry_the_proposal_and_workload(
    captured: io.StringIO, start_bot: StartBot
) -> None:
    bot = start_bot(http=True)
    configure_logging("json", "INFO", stream=captured)
    assert bot.sender is not None
    bot.sender.event(sr.event_callback(sr.mention(ASK, "UREQ")))
    _, ref, ts = posted_card(bot.emulator, "items-api")
    bot.sender.interactive(sr.block_action("sizer_approve", ref.encode(), "UAPPROVER", "C1", ts))
    card_update(bot.emulator, ts, "Applied")
    bot.runtime.pool.shutdown(wait=True)
    finished = [r for r in lines(captured) if str(r["message"]).startswith("apply finished")]
    assert len(finished) == 1
    assert finished[0]["proposal_id"] == ref.proposal_id
    assert finished[0]["workload"] == "team-a/items-api"
    assert finished[0]["level"] == "INFO" and "time" in finished[0]


def test_context_reaches_every_module_and_text_format_shows_it(captured: io.StringIO) -> None:
    configure_logging("text", "INFO", stream=captured)
    with log_context(proposal_id="p-1", workload="team-a/items-api"):
        logging.getLogger("bot.executors.pipeline").info("render: ok")
    logging.getLogger("bot.executors.pipeline").info("outside")
    first, second = captured.getvalue().splitlines()
    assert first.endswith("render: ok [proposal_id=p-1 workload=team-a/items-api]")
    assert second.endswith("outside")


def test_a_rejected_token_is_reported_without_the_token(
    captured: io.StringIO, emulator: SlackEmulator, rp: tuple[redis_lib.Redis, str], tmp_path: Path
) -> None:
    access = tmp_path / "access.yaml"
    access.write_text("namespaces: {}\n")
    wrong = "xoxb-wrong-0000-secretvalue"
    settings = settings_for(emulator, rp[1], access, SLACK_BOT_TOKEN=wrong)
    configure_logging("json", "DEBUG", secret_values(settings), stream=captured)
    with pytest.raises(StartupError, match="invalid_auth") as caught:
        Runtime.create(settings, RecordingExecutor(), http=True, redis=rp[0])
    assert wrong not in str(caught.value)
    assert wrong not in captured.getvalue()
