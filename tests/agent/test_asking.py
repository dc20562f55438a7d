"""The pieces of the request reader: loads, peers by meaning, plain-words why."""

from __future__ import annotations

import pytest

from tests.agent.doubles import bundled
from tools.asking import Load, LoadError, find_load, resolve_peer
from tools.plain_why import Edit, Numbers, plain_why
from tools.propose import SizeRequest, propose
from tools.sizing.models import Policy


@pytest.mark.parametrize(
    ("text", "load"),
    [
        ("about 80 requests per second", Load(80, 80)),
        ("50–100 rps", Load(50, 100)),
        ("2k qps", Load(2000, 2000)),
        ("6000 requests per minute", Load(100, 100)),
        ("normally 40 rps but peaks at 300", Load(40, 300)),
        ("up to 120 rps", Load(0, 120)),
        ("300 rps peak", Load(0, 300)),
        ("5-10 messages per second", Load(5, 10, "messages")),
        ("300 msgs/min", Load(5, 5, "messages")),
        ("between 2,000 and 5,000 req/s", Load(2000, 5000)),
    ],
)
def test_loads_as_people_write_them(text: str, load: Load) -> None:
    assert find_load(text) == load


@pytest.mark.parametrize("text", ["5e3 rps", "1e308 rps", "50,60 rps", "2,5 rps"])
def test_unreadable_numbers_are_refused(text: str) -> None:
    with pytest.raises(LoadError, match="write it plainly"):
        find_load(text)


def test_peers_by_meaning_and_never_numbers() -> None:
    names = bundled().names()
    for query in ("cart", "cart-svc", "the cart service", "cartservice", "Cart Service"):
        assert resolve_peer(query, names).name == "cartservice", query
    assert resolve_peer("80", names).name is None and not resolve_peer("80", names).choices
    ambiguous = resolve_peer("order service", names)
    assert ambiguous.name is None and "ts-order-service" in ambiguous.choices
    assert resolve_peer("recomendation", names).name == "recommendationservice"  # a typo


def test_why_in_plain_words_and_who_changed_what() -> None:
    request = SizeRequest(name="items-api", language="python", rps_low=50, rps_high=100)
    rec = propose(request, bundled(), Policy())
    numbers = Numbers(rec.replicas, "11m", None, "26Mi", "175Mi")
    lines = plain_why(rec.reasons, numbers, language="python")
    assert lines[0].startswith("Similar Python services use about")
    assert "we reserve 26 MiB and allow up to 175 MiB" in lines[0]
    assert "which would have covered" in lines[0] and "% of comparable services' peaks" in lines[0]
    assert "×" not in " ".join(lines) and "conformal" not in " ".join(lines)
    edited = Numbers(4, "11m", None, "26Mi", "175Mi")
    edit = Edit(2, "<@U1>", "replicas", "2", "4")
    after = plain_why(rec.reasons, edited, edits=[edit], proposed=numbers, focus=["replicas"])
    assert after[0].startswith("Sizer proposed: ") and after[-1] == (
        "<@U1> changed replicas from 2 to 4 (revision 2)."
    )


def test_a_worker_sized_from_messages_or_peers_says_so() -> None:
    worker = SizeRequest(name="q-worker", kind="worker", messages_low=5, messages_high=10)
    texts = [r.text for r in propose(worker, bundled(), Policy()).reasons]
    assert any("sized from 5-10 messages/s" in t for t in texts)
    alone = SizeRequest(name="q-worker", kind="worker")
    texts = [r.text for r in propose(alone, bundled(), Policy()).reasons]
    assert any("sized from its peers alone" in t for t in texts)
    with pytest.raises(ValueError, match="requests per second"):
        SizeRequest(name="api", kind="http")
