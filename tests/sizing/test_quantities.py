from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tools.sizing.quantities import (
    QuantityError,
    format_cpu,
    format_memory,
    parse_cpu,
    parse_memory,
    parse_quantity,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("250m", Fraction(1, 4)),
        ("0.5", Fraction(1, 2)),
        (".5", Fraction(1, 2)),
        ("2", Fraction(2)),
        ("1.", Fraction(1)),
        ("512Mi", Fraction(512 * 2**20)),
        ("1Gi", Fraction(2**30)),
        ("1G", Fraction(10**9)),
        ("1k", Fraction(1000)),
        ("1e3", Fraction(1000)),
        ("1E3", Fraction(1000)),
        ("1.5e-3", Fraction(3, 2000)),
        ("100n", Fraction(1, 10**7)),
        ("5u", Fraction(5, 10**6)),
        ("+3", Fraction(3)),
        ("-0", Fraction(0)),
        ("2E", Fraction(2 * 10**18)),
    ],
)
def test_parse_quantity_exact(text: str, expected: Fraction) -> None:
    assert parse_quantity(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("abc", "not a Kubernetes quantity"),
        ("", "not a Kubernetes quantity"),
        ("1.2.3", "not a Kubernetes quantity"),
        ("5mm", "not a Kubernetes quantity"),
        ("1 Mi", "not a Kubernetes quantity"),
        (" 1Mi", "not a Kubernetes quantity"),
        ("1mi", "not a Kubernetes quantity"),
        ("1KiB", "not a Kubernetes quantity"),
        ("-1", "negative"),
        ("-250m", "negative"),
        ("1e99", "exponent"),
    ],
)
def test_parse_quantity_rejects(text: str, fragment: str) -> None:
    with pytest.raises(QuantityError, match=fragment):
        parse_quantity(text)


def test_cpu_and_memory_specific_rules() -> None:
    assert parse_cpu("250m") == 0.25
    assert parse_cpu("1") == 1.0
    with pytest.raises(QuantityError, match="below 1m"):
        parse_cpu("100u")
    assert parse_memory("512Mi") == 536_870_912
    assert parse_memory("1G") == 1_000_000_000
    with pytest.raises(QuantityError, match="whole number of bytes"):
        parse_memory("0.5")


@pytest.mark.parametrize(
    ("cores", "text"),
    [(0.25, "250m"), (1.0, "1"), (2.0, "2"), (0.2501, "251m"), (0.0001, "1m"), (0.0, "0")],
)
def test_format_cpu(cores: float, text: str) -> None:
    assert format_cpu(cores) == text


@pytest.mark.parametrize(
    ("num_bytes", "text"),
    [
        (536_870_912, "512Mi"),
        (2**30, "1Gi"),
        (1_000_000_000, "954Mi"),  # rounded up to whole MiB: 953.67 → 954
        (5000, "5Ki"),
        (0, "0"),
        (3 * 2**30 + 1, "3073Mi"),
    ],
)
def test_format_memory(num_bytes: int, text: str) -> None:
    assert format_memory(num_bytes) == text


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -1.0])
def test_format_rejects_non_finite_and_negative(bad: float) -> None:
    with pytest.raises(QuantityError):
        format_cpu(bad)
    with pytest.raises(QuantityError):
        format_memory(bad)


@given(st.floats(min_value=0, max_value=512, allow_nan=False))
def test_cpu_format_never_rounds_down(cores: float) -> None:
    text = format_cpu(cores)
    assert parse_cpu(text) >= cores - 1e-9
    assert parse_cpu(text) - cores < 0.001 + 1e-9
    assert format_cpu(parse_cpu(text)) == text


@given(st.integers(min_value=0, max_value=2**42))
def test_memory_format_never_rounds_down(num_bytes: int) -> None:
    text = format_memory(num_bytes)
    parsed = parse_memory(text)
    assert parsed >= num_bytes
    assert parsed - num_bytes < 2**20
    assert format_memory(parsed) == text


@given(
    st.integers(min_value=0, max_value=10**6),
    st.sampled_from(["", "m", "k", "M", "G", "Ki", "Mi", "Gi"]),
)
def test_integer_with_suffix(number: int, suffix: str) -> None:
    factor = {
        "": Fraction(1),
        "m": Fraction(1, 1000),
        "k": Fraction(1000),
        "M": Fraction(10**6),
        "G": Fraction(10**9),
        "Ki": Fraction(1024),
        "Mi": Fraction(2**20),
        "Gi": Fraction(2**30),
    }[suffix]
    assert parse_quantity(f"{number}{suffix}") == number * factor


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("9" * 400, "too long"),
        ("1" * 5000 + "Mi", "too long"),
        ("1" * 10_000, "too long"),
        ("²", "not a Kubernetes quantity"),
        ("٣Mi", "not a Kubernetes quantity"),  # an Arabic-Indic digit: \d would take it
        ("1Mi\n", "not a Kubernetes quantity"),
        ("250m\n", "not a Kubernetes quantity"),
        ("1e9999", "not a Kubernetes quantity"),
        ("9" * 30, "too large"),
        ("8Ei", "too large"),
        ("9.3E", "too large"),
    ],
)
def test_hostile_quantities_are_refused_with_a_bounded_message(text: str, fragment: str) -> None:
    for parse in (parse_quantity, parse_cpu, parse_memory):
        with pytest.raises(QuantityError, match=fragment) as caught:
            parse(text)
        assert len(str(caught.value)) < 200


def test_the_largest_quantity_still_parses() -> None:
    assert parse_memory("7Ei") == 7 * 2**60
    assert parse_cpu("9223372036854775807") == float(2**63 - 1)


@given(st.text(max_size=60))
def test_any_text_parses_or_raises_quantity_error(text: str) -> None:
    for parse in (parse_cpu, parse_memory):
        try:
            value = parse(text)
        except QuantityError as exc:
            assert len(str(exc)) < 200
        else:
            assert 0 <= value <= 2**63 - 1
