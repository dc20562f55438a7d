"""Cluster-sourced text is data, never instructions: fence it, and mask anything secret-shaped.

Annotations, log lines and events can say anything, including "ignore previous instructions".
Before such text reaches a model it is wrapped in markers the system prompt explains, with any
marker inside it defused so the text cannot close its own fence.
"""

from __future__ import annotations

import re

OPEN = "<<<CLUSTER-DATA"
CLOSE = "CLUSTER-DATA>>>"
_MARKERS = re.compile(r"<<<|>>>")
_SECRET_SHAPES = (
    re.compile(r"xox[abposr]-[A-Za-z0-9-]{8,}"),  # Slack tokens
    re.compile(r"xapp-[A-Za-z0-9-]{8,}"),
    re.compile(r"sk-[A-Za-z0-9_-]{16,}"),  # API keys
    re.compile(r"AKIA[0-9A-Z]{16}"),  # AWS access key IDs
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)"),
    re.compile(r"(?i)\b(password|passwd|secret|token|api[_-]?key)\s*[:=]\s*\S+"),
)
REDACTED = "[redacted]"


def redact(text: str) -> str:
    """Mask values that look like credentials; the rest of the text is kept."""
    for shape in _SECRET_SHAPES:
        text = shape.sub(REDACTED, text)
    return text


def fence(text: str, source: str) -> str:
    """``text`` wrapped as inert data from ``source`` (e.g. 'annotation team-a/api')."""
    body = _MARKERS.sub("[fence]", redact(text))
    label = _MARKERS.sub("", source)
    return f"{OPEN} source={label}\n{body}\n{CLOSE}"
