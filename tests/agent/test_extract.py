from __future__ import annotations

import pytest

from bot.agent.extract import extract, question


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "size a new FastAPI service `items-api`, Python 3.10, 50–100 req/s, "
            "similar to `image-resizer`",
            dict(
                name="items-api",
                language="python",
                framework="fastapi",
                version="3.10",
                rps_low=50.0,
                rps_high=100.0,
                similar=("image-resizer",),
            ),
        ),
        (
            "a FastAPI thing `items-api` on 3.10 doing ~80 rps, like image-resizer",
            dict(name="items-api", framework="fastapi", rps_low=80.0, rps_high=80.0),
        ),
        (
            "size `orders` in namespace team-a, spring boot, 1.2k requests per second, critical",
            dict(
                name="orders", namespace="team-a", language="java", rps_high=1200.0, critical=True
            ),
        ),
        (
            "size items-api --rps 50-100 --similar emailservice --namespace team-a",
            dict(name="items-api", namespace="team-a", rps_low=50.0, similar=("emailservice",)),
        ),
        (
            "a go worker called queue-eater, up to 30 rps",
            dict(name="queue-eater", language="go", kind="worker", rps_low=0.0, rps_high=30.0),
        ),
    ],
)
def test_phrasings(text: str, expected: dict[str, object]) -> None:
    found = extract(text)
    for key, value in expected.items():
        assert getattr(found, key) == value, key
    assert found.missing == []


def test_missing_load_is_reported_not_guessed() -> None:
    found = extract("size a FastAPI service `items-api` like `image-resizer`")
    assert found.rps_low is None and found.rps_high is None
    assert found.missing == ["load"]
    assert "requests per second" in question(found.missing, found.name)


def test_missing_name() -> None:
    found = extract("something on python doing 80 rps")
    assert found.missing == ["name"]
    assert "called" in question(found.missing, None)


def test_bad_name_says_what_to_fix() -> None:
    found = extract("size `Items_API` at 80 rps")
    assert found.name is None
    assert "not a valid Kubernetes name" in found.problems[0]


def test_reversed_range_is_a_problem() -> None:
    found = extract("size `a-b` 100-50 rps")
    assert found.rps_high is None
    assert "reversed" in found.problems[0]


def test_follow_up_answer_merges() -> None:
    first = extract("size `items-api`, fastapi")
    merged = first.merged(extract("about 80 rps"))
    assert merged.name == "items-api" and merged.framework == "fastapi"
    assert merged.rps_high == 80.0 and merged.missing == []
    assert merged.request().name == "items-api"
