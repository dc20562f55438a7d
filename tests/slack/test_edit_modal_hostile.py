"""Hostile edit-form input through the real Bolt app: errors stay in the modal, nothing changes."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.approvals.models import ProposalState
from bot.service import EDIT_FIELDS
from bot.slack import blocks
from tests.emulators import slack_requests as sr
from tests.slack.conftest import Bot, StartBot
from tests.slack.scenario import eventually, posted_card

ASK = "size items-api --language python --framework fastapi --rps 50-100 --namespace team-a"
USER = "UREQUESTER"
VALID = {
    "replicas": "3",
    "cpu_request": "100m",
    "cpu_limit": "",
    "memory_request": "128Mi",
    "memory_limit": "256Mi",
}


def _bot_with_card(start_bot: StartBot) -> tuple[Bot, str]:
    bot = start_bot()
    assert bot.sender is not None
    bot.sender.event(sr.event_callback(sr.mention(ASK, USER, ts="1700000000.000001")))
    _, ref, _ = posted_card(bot.emulator, "items-api")
    eventually(lambda: bot.runtime.service.get(ref.proposal_id).message_ts is not None)
    return bot, ref.proposal_id


def _submit(bot: Bot, proposal_id: str, values: dict[str, str]) -> sr.Response:
    assert bot.sender is not None
    view = blocks.edit_modal(bot.runtime.service.get(proposal_id))
    return bot.sender.interactive(sr.view_submission(view, values, USER))


def _errors_in_modal(response: sr.Response) -> dict[str, str]:
    assert response.status == 200, response.body
    body: dict[str, Any] = response.json()
    assert body.get("response_action") == "errors", body
    errors: dict[str, str] = body["errors"]
    assert errors and set(errors) <= set(EDIT_FIELDS)
    assert all(0 < len(message) <= 150 for message in errors.values())
    return errors


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("replicas", "²", "whole number from 1 to"),
        ("replicas", "٣", "whole number from 1 to"),
        ("replicas", "9" * 10_000, "whole number from 1 to"),
        ("cpu_request", "9" * 400, "too long"),
        ("cpu_limit", "9" * 400, "too long"),
        ("memory_request", "9" * 5_000, "too long"),
        ("memory_limit", "1" * 5_000 + "Mi", "too long"),
        ("memory_request", "9" * 30, "too large"),
        ("cpu_request", "1e9999", "not a Kubernetes quantity"),
    ],
)
def test_hostile_field_comes_back_inside_the_modal(
    start_bot: StartBot, field: str, value: str, fragment: str
) -> None:
    bot, proposal_id = _bot_with_card(start_bot)
    before = bot.runtime.service.get(proposal_id)
    errors = _errors_in_modal(_submit(bot, proposal_id, {**VALID, field: value}))
    assert fragment in errors[field]
    assert bot.runtime.service.get(proposal_id) == before


_HOSTILE = st.sampled_from(
    [
        "²",
        "٣",
        "9" * 10_000,
        "9" * 400,
        "1" * 5_000 + "Mi",
        "-1",
        "0",
        "1e308",
        "NaN",
        "inf",
        "1Mi\n2",
        "{{ lookup('pipe','id') }}",
        "250m; rm -rf /",
        "\x00",
        "１００m",  # full-width digits
        "0x10",
        "1_000",
    ]
)
_PLAUSIBLE = st.sampled_from(["1", "2", "3", "11", "100m", "1.5", "250m", "128Mi", "1Gi", ""])
_FIELD = st.one_of(_HOSTILE, _PLAUSIBLE, st.text(max_size=30), st.from_regex(r"[0-9]{1,60}"))


@pytest.mark.timeout(600)
def test_fuzzed_edit_form_never_fails_and_refusals_change_nothing(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    bot, proposal_id = _bot_with_card(start_bot)
    service = bot.runtime.service
    seen: dict[str, int] = {"refused": 0, "accepted": 0}

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(st.fixed_dictionaries({f: _FIELD for f in EDIT_FIELDS}))
    def check(values: dict[str, str]) -> None:
        before = service.find(proposal_id)
        assert before is not None and before.state == ProposalState.PROPOSED
        response = _submit(bot, proposal_id, values)
        assert response.status == 200, response.body
        if response.body:
            _errors_in_modal(response)
            assert service.find(proposal_id) == before
            seen["refused"] += 1
        else:
            # Accepted: the revision is stored by the worker; wait so the next form is fresh.
            eventually(lambda: service.find(proposal_id) != before)
            seen["accepted"] += 1

    with caplog.at_level(logging.ERROR):
        check()
    assert seen["refused"] > 0
    tracebacks = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert tracebacks == [], [r.getMessage() for r in tracebacks]
