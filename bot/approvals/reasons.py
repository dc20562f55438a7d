"""A person's reason for a rejection: plain text on one line, of bounded length.

It is shown on the card and in check reports and kept in the audit trail, so it is stored as
the person wrote it, less what no reader can see or trust: runs of whitespace (line breaks
included) become one space, and control and bidirectional-override characters are dropped.
Renderers escape it for their format; nothing here knows about Slack.
"""

from __future__ import annotations

import unicodedata

__all__ = ["MAX_REASON", "ReasonTooLong", "clean_reason"]

MAX_REASON = 500
# Characters that reorder the text around them (a reason could make itself read backwards).
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


class ReasonTooLong(ValueError):
    """The reason is longer than :data:`MAX_REASON`; the message says by how much."""


def clean_reason(text: str, limit: int = MAX_REASON) -> str:
    """The reason as stored: one line, visible characters only, at most ``limit`` long."""
    kept = "".join(
        c for c in text if c not in _BIDI and (c.isspace() or unicodedata.category(c) != "Cc")
    )
    line = " ".join(kept.split())
    if len(line) > limit:
        raise ReasonTooLong(
            f"at most {limit} characters; this one has {len(line)}, shorten it by "
            f"{len(line) - limit}"
        )
    return line
