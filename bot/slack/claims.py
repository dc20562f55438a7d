"""Model text never states an outcome: sentences claiming an approval or an apply are removed.

Only a person's click approves and only the executor applies, so "Done — I approved and
applied it." from a model is wrong by construction. Such sentences are dropped from the reply,
the reply says so, and the state line the person reads comes from the store instead.
"""

from __future__ import annotations

import re

__all__ = ["scrub_claims"]

_SENTENCE = re.compile(r"[^.!?\n]*(?:[.!?]+|\n|$)")
# A first-person or passive claim that a change was approved, applied, deployed or rolled out.
_CLAIM = re.compile(
    r"\b(?:"
    r"(?:i|we|sizer)(?:'ve| have| has)?\s+(?:\w+\s+){0,3}?"
    r"(?:approved|applied|deployed|rolled\s+(?:it\s+)?(?:out|back)|merged|executed)"
    r"|(?:has|have|was|were|is|been|got)\s+(?:now\s+|already\s+|successfully\s+)*"
    r"(?:approved|applied|deployed|rolled\s+(?:out|back))"
    r"|(?:it'?s|it is)\s+(?:now\s+)?(?:live|applied|deployed)"
    r")\b",
    re.IGNORECASE,
)


def scrub_claims(text: str) -> tuple[str, bool]:
    """``text`` without sentences that claim an approval or apply, and whether any were cut."""
    kept: list[str] = []
    cut = False
    for sentence in _SENTENCE.findall(text):
        if _CLAIM.search(sentence):
            cut = True
            continue
        kept.append(sentence)
    return "".join(kept).strip(), cut
