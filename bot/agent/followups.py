"""Follow-ups that change a proposal's numbers: "make it 4 replicas", "memory limit 1Gi",
"give it more memory", "less cpu". Relative wishes scale the current value by a fixed step,
so the result is predictable and the person sees the new number before approving."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from tools.sizing.quantities import (
    QuantityError,
    format_cpu,
    format_memory,
    parse_cpu,
    parse_memory,
)

__all__ = ["MORE", "edits"]

MORE = 1.5  # "more memory": one and a half times; "less": two thirds
_REPLICAS = re.compile(
    r"\b(\d{1,4})\s*(?:replicas?|pods?|instances?|copies)\b|\breplicas?\s*(?:to|=|:|at)?\s*(\d{1,4})\b",
    re.I,
)
_RESOURCE = re.compile(
    r"\b(cpu|memory|mem|ram)\s*(request|limit)?s?\s*(?:to|=|:|at|of)?\s*"
    r"(none|\d+(?:\.\d+)?\s*(?:m|mi|gi|ki|g|k|cores?)?)(?![\w])",
    re.IGNORECASE,
)
_RELATIVE = re.compile(
    r"\b(more|less|fewer|bigger|smaller|extra|double|halve|increase|decrease|raise|lower|reduce|"
    r"bump)\b(?:\s+(?:the|its|it|up|down|a\s+bit|some))*\s*(?:of\s+)?"
    r"(cpu|memory|mem|ram|replicas?|pods?|instances?)\b",
    re.I,
)


def _quantity(raw: str, resource: str) -> str:
    value = raw.strip().lower().replace(" ", "")
    if value == "none":
        return "none"
    value = re.sub(r"cores?$", "", value)
    if resource == "cpu":
        return value
    unit = re.search(r"[a-z]+$", value)
    number = value[: unit.start()] if unit else value
    suffix = {"mi": "Mi", "gi": "Gi", "ki": "Ki", "m": "Mi", "g": "Gi", "k": "Ki"}.get(
        unit[0] if unit else "", "Mi"
    )
    return number + suffix


def _scaled(current: Mapping[str, Any], field: str, factor: float) -> str | None:
    value = current.get(field)
    if not value:
        return None
    try:
        if field.startswith("cpu"):
            return format_cpu(parse_cpu(str(value)) * factor)
        return format_memory(parse_memory(str(value)) * factor)
    except QuantityError:
        return None


def edits(text: str, current: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The changes a follow-up asks for, against the proposal's ``current`` numbers."""
    out: dict[str, Any] = {}
    match = _REPLICAS.search(text)
    if match:
        out["replicas"] = int(match[1] or match[2])
    for m in _RESOURCE.finditer(text):
        resource = "cpu" if m[1].lower() == "cpu" else "memory"
        which = (m[2] or "request").lower()
        out[f"{resource}_{which}"] = _quantity(m[3], resource)
    relative = _RELATIVE.search(text)
    if relative and current is not None and not out:
        word, what = relative[1].lower(), relative[2].lower()
        up = word in ("more", "bigger", "extra", "double", "increase", "raise", "bump")
        factor = (
            (2.0 if word == "double" else MORE) if up else (0.5 if word == "halve" else 1 / MORE)
        )
        if what.startswith(("replica", "pod", "instance")):
            replicas = int(current.get("replicas") or 1)
            out["replicas"] = max(1, math.ceil(replicas * factor) if up else int(replicas * factor))
            if up and out["replicas"] == replicas:
                out["replicas"] = replicas + 1
        else:
            resource = "cpu" if what == "cpu" else "memory"
            for which in ("request", "limit"):
                scaled = _scaled(current, f"{resource}_{which}", factor)
                if scaled is not None:
                    out[f"{resource}_{which}"] = scaled
    return out
