"""The words of a check's report in the proposal's thread: pure functions, Block Kit out."""

from __future__ import annotations

from typing import Any

from bot.approvals.models import Proposal
from bot.feedback.goals import Judgement
from bot.feedback.spec import CheckSpec

__all__ = ["could_not_check", "goal_lines", "report_blocks", "title"]

Block = dict[str, Any]
_MARK = {"pass": ":white_check_mark:", "fail": ":x:", "not judged": ":grey_question:"}
_GOAL_WORDS = {
    "no-oom": "no OOM kill",
    "no-crash-loop": "no crash loop",
    "no-saturation": "no CPU saturation or throttling",
    "requests-fit": "requests within 10 % of p95 usage",
    "limit-covers-peak": "limit covers the peak",
}


def title(spec: CheckSpec, proposal: Proposal) -> str:
    hours = (spec.due_at - spec.applied_at) / 3600
    what = {
        "launch": f"Launch check ({hours:.0f} h)",
        "report": f"Report after {hours:.0f} h",
        "watch": "OOM kill or crash loop",
    }.get(spec.check, f"Daily check ({spec.check.removeprefix('day')} d after the report)")
    return f"{what}: {proposal.key} revision {spec.revision}"


def goal_lines(judgement: Judgement) -> str:
    return "\n".join(
        f"{_MARK[g.status]} *{_GOAL_WORDS[g.goal]}*: {g.detail}" for g in judgement.goals
    )


def _section(text: str, *, verbatim: bool = False) -> Block:
    body: dict[str, Any] = {"type": "mrkdwn", "text": text[:3000]}
    if verbatim:  # bare URLs and names a person wrote stay plain text
        body["verbatim"] = True
    return {"type": "section", "text": body}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:3000]}]}


def report_blocks(
    spec: CheckSpec,
    proposal: Proposal,
    judgement: Judgement,
    *,
    hours: float,
    pods: int,
    follow_up: str,
) -> tuple[str, list[Block]]:
    """(fallback text, blocks): green and short when every goal holds, every goal otherwise."""
    head = title(spec, proposal)
    source = (
        "sizes in force from kube-state-metrics"
        if judgement.size.source == "cluster"
        else "sizes of the applied revision (kube-state-metrics reports none)"
    )
    basis = f"{hours:.1f} h of usage, {pods} pod(s); {source}"
    if judgement.met:
        text = f":white_check_mark: {head}: every goal met."
        return text, [_section(f"{text}\n{goal_lines(judgement)}"), _context(basis)]
    missed = ", ".join(_GOAL_WORDS[g.goal] for g in judgement.missed())
    text = f":warning: {head}: missed {missed}."
    blocks = [_section(text), _section(goal_lines(judgement)), _context(basis)]
    if follow_up:  # may quote a rejection's reason (escaped by the checker)
        blocks.append(_section(follow_up, verbatim=True))
    return text, blocks


def could_not_check(spec: CheckSpec, proposal: Proposal, why: str) -> tuple[str, list[Block]]:
    text = f":grey_question: {title(spec, proposal)}: could not check. {why}"
    return text, [_section(text)]
