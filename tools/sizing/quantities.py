"""Kubernetes resource quantities: exact parsing and canonical formatting.

The grammar is the one of ``k8s.io/apimachinery/pkg/api/resource``::

    quantity   ::= sign? digits ('.' digits?)? suffix?  |  sign? '.' digits suffix?
    suffix     ::= binarySI | decimalSI | decimalExponent
    binarySI   ::= Ki | Mi | Gi | Ti | Pi | Ei
    decimalSI  ::= n | u | m | "" | k | M | G | T | P | E
    decimalExp ::= (e | E) sign? digits

Values are parsed into :class:`fractions.Fraction` so ``0.1`` and ``100m`` compare equal and
no float rounding leaks into a manifest. Negative quantities are rejected: no request or limit
can be negative. Input is bounded before any arithmetic: digits are ASCII only, the text is at
most :data:`MAX_LENGTH` characters and the value at most :data:`MAX_VALUE` (Kubernetes keeps
quantities as 64-bit integers), so hostile input is a :class:`QuantityError`, never an
overflow or a huge number.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

__all__ = [
    "QuantityError",
    "format_cpu",
    "format_memory",
    "parse_cpu",
    "parse_memory",
    "parse_quantity",
]

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 10**3),
    "": Fraction(1),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
}
_QUANTITY = re.compile(
    r"(?P<sign>[+-]?)(?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
    r"(?:(?P<binary>Ki|Mi|Gi|Ti|Pi|Ei)|(?P<exp>[eE][+-]?[0-9]{1,3})|(?P<decimal>[numkMGTPE]?))",
    re.ASCII,
)
# Exponents beyond this are far outside any real resource and would make Fraction huge.
_MAX_EXPONENT = 30
MAX_LENGTH = 40
"""Longest quantity text accepted; ``0.000000001`` or ``9223372036854775807`` fit easily."""
MAX_VALUE = Fraction(2**63 - 1)
"""Largest amount (cores or bytes) accepted: what a Kubernetes quantity can hold."""


class QuantityError(ValueError):
    """A quantity string that is not valid Kubernetes syntax, or not valid for the resource."""


def parse_quantity(text: str) -> Fraction:
    """Parse any Kubernetes quantity (``250m``, ``1.5``, ``512Mi``, ``1e3``) into a Fraction."""
    if not isinstance(text, str):
        raise QuantityError(f"quantity must be a string, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise QuantityError(
            f"{_shown(text)} is too long for a quantity ({len(text)} characters, "
            f"at most {MAX_LENGTH})"
        )
    match = _QUANTITY.fullmatch(text)
    if match is None:
        raise QuantityError(
            f"{_shown(text)} is not a Kubernetes quantity; use forms like 250m, 0.5, 512Mi or 1G"
        )
    number = Fraction(match["number"]) if match["number"] != "." else Fraction(0)
    if match["binary"]:
        value = number * _BINARY[match["binary"]]
    elif match["exp"]:
        exponent = int(match["exp"][1:])
        if abs(exponent) > _MAX_EXPONENT:
            raise QuantityError(f"{_shown(text)} has an exponent outside ±{_MAX_EXPONENT}")
        value = number * Fraction(10) ** exponent
    else:
        value = number * _DECIMAL[match["decimal"] or ""]
    if match["sign"] == "-" and value != 0:
        raise QuantityError(f"{_shown(text)} is negative; requests and limits must be >= 0")
    if value > MAX_VALUE:
        raise QuantityError(f"{_shown(text)} is too large; at most {MAX_VALUE} (2^63-1)")
    return value


def _shown(text: str) -> str:
    """``text`` quoted for a message, cut short so hostile input cannot flood it."""
    shown = repr(text)
    return shown if len(shown) <= 2 * MAX_LENGTH else shown[: 2 * MAX_LENGTH] + "…"


def parse_cpu(text: str) -> float:
    """CPU quantity to cores (``250m`` → 0.25). Below 1 millicore Kubernetes cannot express it."""
    value = parse_quantity(text)
    if value != 0 and value < Fraction(1, 1000):
        raise QuantityError(
            f"{_shown(text)} is below 1m, the smallest CPU amount Kubernetes accepts"
        )
    return float(value)


def parse_memory(text: str) -> int:
    """Memory quantity to bytes (``512Mi`` → 536870912); fractional bytes are rejected."""
    value = parse_quantity(text)
    if value.denominator != 1:
        raise QuantityError(f"{_shown(text)} is not a whole number of bytes")
    return int(value)


def format_cpu(cores: float) -> str:
    """Cores to the canonical CPU string, rounded up to a whole millicore (0.2501 → ``251m``)."""
    if not math.isfinite(cores) or cores < 0:
        raise QuantityError(f"CPU amount {cores!r} must be a finite number >= 0")
    millis = math.ceil(round(cores * 1000, 6))
    if millis % 1000 == 0:
        return str(millis // 1000)
    return f"{millis}m"


def format_memory(num_bytes: float) -> str:
    """Bytes to the canonical memory string: the largest binary suffix that divides exactly.

    Amounts are first rounded up to a whole MiB (or KiB below 1 MiB) so manifests stay
    readable; rounding up never turns a safe limit into an unsafe one.
    """
    if not math.isfinite(num_bytes) or num_bytes < 0:
        raise QuantityError(f"memory amount {num_bytes!r} must be a finite number >= 0")
    whole = math.ceil(num_bytes)
    unit = 2**20 if whole >= 2**20 else 2**10
    whole = -(-whole // unit) * unit
    if whole == 0:
        return "0"
    for suffix, factor in sorted(_BINARY.items(), key=lambda kv: -kv[1]):
        if whole % factor == 0:
            return f"{whole // factor}{suffix}"
    return str(whole)  # pragma: no cover - every amount is a multiple of Ki after rounding
