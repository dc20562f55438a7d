"""Property-based: whatever is typed, the grammar and the mention reader answer with a request
or a clear refusal, never a traceback; a number they refuse is never read as a smaller one."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.slack.commands import CommandError, SizeCommand, parse
from tools.asking import read

WORDS = st.sampled_from(
    [
        "size",
        "items-api",
        "--rps",
        "--namespace",
        "Team_A",
        "5e3",
        "1e308",
        "2,000-5,000",
        "like",
        "the",
        "cart",
        "service",
        "rps",
        "qps",
        "req/min",
        "peaks",
        "at",
        "normally",
        "--image",
        "ghcr.io/acme/x:1",
        "--port",
        "99999",
        "--similar",
        "--critical",
        "k",
        "-",
        "`",
        "messages/s",
        "worker",
        "in",
        "namespace",
        "python",
        "go",
        "40",
        "300",
        "2k",
        "--kind",
        "grpc",
        "image",
        "--messages",
        "²",
        "٣",
        "\n",
        "—",
        "--probe-path",
        "/healthz",
    ]
)
TEXT = st.one_of(st.text(max_size=200), st.lists(WORDS, max_size=14).map(" ".join))
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(TEXT)
def test_the_grammar_answers_or_refuses_clearly(text: str) -> None:
    try:
        command = parse(text)
    except CommandError as exc:
        message = str(exc)
        assert message and "Traceback" not in message and len(message) < 600
        return
    if isinstance(command, SizeCommand):
        request = command.request
        load = request.load()
        assert load is None or 0 <= load[0] <= load[1] <= 1_000_000


@FUZZ
@given(TEXT)
def test_the_mention_reader_never_raises_and_names_are_labels(text: str) -> None:
    draft = read(text)
    for problem in draft.problems:
        assert problem and len(problem) < 600
    if draft.name is not None:
        assert draft.name.isascii() and draft.name == draft.name.lower()
        assert not draft.name.replace("-", "").isdigit()
    if draft.rps_high is not None and draft.rps_low is not None:
        assert 0 <= draft.rps_low <= draft.rps_high


@FUZZ
@given(
    st.sampled_from(["5e3", "1e308", "2,5", "50,60", "1e2-1e3"]), st.sampled_from(["--rps ", ""])
)
def test_unreadable_numbers_are_refused_not_shrunk(number: str, flag: str) -> None:
    text = f"size items-api {flag}{number}{'' if flag else ' rps'}"
    draft = read(text)
    assert draft.rps_high is None and draft.problems
    try:
        parse(f"size items-api --rps {number}")
    except CommandError as exc:
        assert "--rps" in str(exc)
    else:
        raise AssertionError(f"--rps {number} was accepted")
