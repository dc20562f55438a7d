"""Load as people write it: "50-100 rps", "~2k qps", "6000 requests per minute", "normally 40
but peaks at 300", "5-10 messages/s" — and the ``--rps`` value of the grammar.

Numbers are read with one strict reader: digits, an optional decimal part, thousands only as
``2,000``, an optional ``k``. Anything else ("5e3", "1e308", "2,5") is refused with a sentence
saying how to write it, never read as a smaller number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["Load", "LoadError", "find_load", "parse_amount", "parse_range"]

Unit = Literal["rps", "messages"]
_AMOUNT = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_AMOUNT_RE = re.compile(rf"({_AMOUNT})\s*(k)?", re.IGNORECASE)
_SEP = r"\s*(?:-|–|—|to|and)\s*"
_PER_SECOND = (
    r"(?:/\s*s(?:ec(?:ond)?)?\b|\s*per\s+s(?:ec(?:ond)?)?\b|\s+(?:a|each)\s+second\b|ps\b)"
)
_PER_MINUTE = r"(?:/\s*min(?:ute)?\b|\s*per\s+min(?:ute)?\b|\s+(?:a|each)\s+minute\b|pm\b)"
_REQ = r"(?:req(?:uest)?s?|queries|hits|calls|r|q)"
_MSG = r"(?:messages?|msgs?|events?|jobs?|tasks?|records?)"
_UNIT = (
    rf"(?P<unit>rps|qps|rpm|qpm|{_REQ}{_PER_SECOND}|{_REQ}{_PER_MINUTE}"
    rf"|{_MSG}{_PER_SECOND}|{_MSG}{_PER_MINUTE}|mps)"
)
_NUM = rf"(?P<n1>{_AMOUNT})\s*(?P<k1>k\b)?"
_NUM2 = rf"(?P<n2>{_AMOUNT})\s*(?P<k2>k\b)?"
_RANGE = re.compile(rf"(?<![\w.,])(?:between\s+)?{_NUM}(?:{_SEP}{_NUM2})?\s*{_UNIT}", re.IGNORECASE)
_PEAK = re.compile(
    rf"\b(?:peaks?|peaking|spikes?|spiking|bursts?|bursting|up\s+to|max(?:imum)?|at\s+most)"
    rf"(?:\s+(?:at|of|to|around|about|near))?\s*~?\s*(?P<n1>{_AMOUNT})\s*(?P<k1>k\b)?"
    rf"(?:\s*{_UNIT})?",
    re.IGNORECASE,
)
_BASE = re.compile(
    rf"\b(?:normally|usually|typically|on\s+average|average|avg|mostly|around|about|baseline)"
    rf"\s*(?:of\s+|is\s+)?~?\s*(?P<n1>{_AMOUNT})\s*(?P<k1>k\b)?(?:\s*{_UNIT})?",
    re.IGNORECASE,
)
_BAD_NUMBER = re.compile(
    r"(?<![\w.])(\d+(?:\.\d+)?[eE][+-]?\d+|\d+,\d{1,2}(?!\d)|\d+,\d{4,}|\d{1,3}(?:,\d{3})+,\d{1,2}\b)"
    r"(?![\w-])"
)
_BARE = re.compile(
    r"^\s*(?:(?:actually|sorry|no|oops|make\s+(?:that|it)|rather|instead)[\s,:]*)*"
    rf"\s*(?:~|about|around|roughly|approx\.?|maybe|say|it'?s|its|it\s+is)?\s*{_NUM}"
    rf"(?:{_SEP}{_NUM2})?\s*(?:{_UNIT})?\s*[.!]?\s*$",
    re.IGNORECASE,
)


class LoadError(ValueError):
    """A load that cannot be read as written; the message says how to write it."""


@dataclass(frozen=True)
class Load:
    low: float
    high: float
    unit: Unit = "rps"


def parse_amount(digits: str, k: str | None = None) -> float:
    """``2,000`` → 2000, ``1.5`` with ``k`` → 1500 (bounds are the request model's)."""
    if len(digits) > 20:
        raise LoadError(f"{digits[:12]}… has too many digits to be a load; check it")
    return float(digits.replace(",", "")) * (1000 if k else 1)


def parse_range(text: str, what: str = "--rps") -> tuple[float, float]:
    """A grammar value: ``80``, ``50-100``, ``2k-5k``, ``2,000-5,000``; nothing else."""
    match = re.fullmatch(
        rf"\s*({_AMOUNT})\s*(k)?\s*(?:(?:-|–|—)\s*({_AMOUNT})\s*(k)?)?\s*", text, re.IGNORECASE
    )
    if match is None:
        raise LoadError(
            f"{what} {text!r}: give a number (80) or a range (50-100), written plainly "
            "(2000, 2,000 or 2k; no exponents)"
        )
    low = parse_amount(match[1], match[2])
    high = parse_amount(match[3], match[4]) if match[3] else low
    if high < low:
        raise LoadError(f"{what} {text!r} is reversed; write it low-high, e.g. {high:g}-{low:g}")
    return low, high


def _unit_of(unit: str | None) -> tuple[Unit, float]:
    """The unit and the factor to per-second."""
    if unit is None:
        return "rps", 1.0
    u = unit.lower().replace(" ", "")
    messages = u == "mps" or re.match(_MSG, u) is not None
    per_minute = u in ("rpm", "qpm") or re.search(r"(min|minute|pm)$", u) is not None
    return ("messages" if messages else "rps"), (1 / 60 if per_minute else 1.0)


def _amount(match: re.Match[str], n: str, k: str, factor: float) -> float:
    return round(parse_amount(match[n], match[k]) * factor, 6)


def find_load(text: str, *, bare: bool = False) -> Load | None:
    """The load the text states, or None; :class:`LoadError` for a number written unreadably.

    ``bare`` also accepts a number alone ("40", "about 80", "50-100"): the answer to Sizer's
    own question about the load.
    """
    bad = _BAD_NUMBER.search(text)
    if bad:
        raise LoadError(
            f"I can't read {bad[1]!r} as a number: write it plainly, e.g. 5000, 5,000 or 5k"
        )
    found: Load | None = None
    match = _RANGE.search(text)
    if match:
        unit, factor = _unit_of(match["unit"])
        low = _amount(match, "n1", "k1", factor)
        high = _amount(match, "n2", "k2", factor) if match["n2"] else low
        found = Load(low, high, unit)
    elif bare:
        only = _BARE.match(text)
        if only:
            unit, factor = _unit_of(only["unit"])
            low = _amount(only, "n1", "k1", factor)
            high = _amount(only, "n2", "k2", factor) if only["n2"] else low
            found = Load(low, high, unit)
    if match and re.match(r"\s*(?:at\s+)?(?:peak|max(?:imum)?|tops)\b", text[match.end() :], re.I):
        found = Load(0.0, found.high, found.unit) if found else None
    peak = _PEAK.search(text)
    if peak and match and peak.start() <= match.start() < peak.end():
        found = None  # "up to 100 rps" states the peak only
    if peak:
        unit, factor = _unit_of(peak["unit"] or (found.unit if found else None))
        if peak["unit"] is None and found is not None and found.unit == unit:
            factor = _per(found, text)
        high = _amount(peak, "n1", "k1", factor)
        base = _BASE.search(text)
        if base and base.start() < peak.start():
            low = _amount(base, "n1", "k1", factor)
        elif found is not None and found.high <= high:
            low = found.low
        else:
            low = 0.0
        if found is None or high >= found.high:
            found = Load(min(low, high), high, unit)
    if found is not None and found.high < found.low:
        raise LoadError(f"the load {found.low:g}-{found.high:g} is reversed; write it low-high")
    return found


def _per(found: Load, text: str) -> float:
    """A bare peak number takes the per-minute factor when the stated load was per minute."""
    return 1 / 60 if re.search(_PER_MINUTE.replace("\\b", ""), text, re.IGNORECASE) else 1.0
