"""The ``/sizer`` grammar: what it accepts, and exactly what it says about bad input."""

from __future__ import annotations

import pytest

from bot.approvals.models import ProposalState
from bot.slack.commands import (
    CommandError,
    HelpCommand,
    ResolveCommand,
    SizeCommand,
    StatusCommand,
    UnknownVerb,
    WhyCommand,
    parse,
)


def test_full_size_command() -> None:
    command = parse(
        "size items-api --language python --framework FastAPI --rps 50-100 "
        "--similar image-resizer --similar emailservice --namespace team-a --critical"
    )
    assert isinstance(command, SizeCommand)
    r = command.request
    assert (r.name, r.namespace, r.language, r.framework) == (
        "items-api",
        "team-a",
        "python",
        "fastapi",
    )
    assert (r.rps_low, r.rps_high, r.critical) == (50, 100, True)
    assert r.similar == ("image-resizer", "emailservice")


@pytest.mark.parametrize(
    "text",
    [
        "<@UBOT> size items-api --rps=80",
        "size `items-api` \u2014rps 80",  # Slack's smart dash and code ticks
        "SIZE items-api --rps 80",
    ],
)
def test_slack_mangling_is_undone(text: str) -> None:
    command = parse(text)
    assert isinstance(command, SizeCommand)
    assert command.request.name == "items-api" and command.request.rps_high == 80


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("size Items --rps 5", "is not a valid Kubernetes name"),
        ("size items-api --rps abc", "a number (80) or a range (50-100)"),
        ("size items-api --rps 100-50", "reversed; write it low-high, e.g. 50-100"),
        ("size items-api --rps 5 --language cobol", "use one of: go, java, python"),
        ("size items-api --rps 5 --kind batch", "--kind 'batch' is unknown"),
        ("size items-api", "--rps is required"),
        ("size items-api --rps", "--rps needs a value"),
        ("size items-api --rps 5 --replicas 3", "unknown option --replicas"),
        ("size items-api --rps 5 --rps 6", "--rps given 2 times"),
        ("size a b --rps 5", "one workload name"),
        ("size items-api --rps 5 --namespace Team_A", "--namespace 'Team_A' is not a valid"),
        ("size items-api --rps 5 --similar Bad!", "--similar 'Bad!'"),
        ("size items-api --rps 5 --framework 'fast api'", "--framework"),
        (
            "size items-api --rps 5 --language python --framework rails",
            "--framework: rails is a ruby framework, not python; the python frameworks Sizer knows",
        ),
        ("size items-api --rps 9999999", "--rps-low"),
        ('size "items-api --rps 5', "check the quotes"),
        ("why", "exactly one argument"),
        ("why Items_API", "why 'Items_API' is not a valid Kubernetes name"),
        ("why team-a/x/y", "not a valid Kubernetes name"),
        ("status 12", "'12' is not a proposal ID"),
        ("resolve nope applied", "'nope' is not a proposal ID"),
        ("status a b", "exactly one argument"),
        ("resolve p-12345678 maybe", "usage: `resolve PROPOSAL_ID applied|failed|rolled_back"),
    ],
)
def test_bad_input_says_what_to_fix(text: str, message: str) -> None:
    with pytest.raises(CommandError) as info:
        parse(text)
    assert message in str(info.value)
    assert not isinstance(info.value, UnknownVerb)


def test_other_commands() -> None:
    assert parse("") == HelpCommand()
    assert parse("help") == HelpCommand()
    assert parse("why team-a/items-api") == WhyCommand("team-a/items-api")
    assert parse("status p-1a2b3c4d") == StatusCommand("p-1a2b3c4d")
    assert parse("resolve p-1a2b3c4d rolled_back pods crashlooping") == ResolveCommand(
        "p-1a2b3c4d", ProposalState.ROLLED_BACK, "pods crashlooping"
    )
    with pytest.raises(UnknownVerb):
        parse("hello, can you help me size something?")
