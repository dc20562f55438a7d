"""Confidence in words, with what would raise it, instead of a bare number."""

from __future__ import annotations

from bot.approvals.models import Proposal, ProposalState

__all__ = ["confidence_hint", "confidence_word"]

S = ProposalState
_CHECK = "the 24 h check after apply re-sizes it from its own use"


def confidence_word(value: float) -> str:
    return "High" if value >= 0.7 else "Medium" if value >= 0.4 else "Low"


def confidence_hint(proposal: Proposal) -> str:
    """The next thing a person could do that would make the sizing more certain."""
    if proposal.state == S.APPLIED:
        return "the 24 h check re-sizes it from its own use"
    if proposal.state != S.PROPOSED:
        return ""
    running = proposal.in_force
    if running is not None and running != proposal.revision:
        return f"from its own use since revision {running} was applied; daily checks go on"
    if proposal.confidence >= 0.7:
        return "its peers agree closely"
    named = [str(n) for n in proposal.request.get("similar") or ()]  # type: ignore[attr-defined]
    if not named:
        return f"raise it: name a similar service (`--similar NAME`), or {_CHECK}"
    return f"sized from {', '.join(named)}; it rises when {_CHECK}"
