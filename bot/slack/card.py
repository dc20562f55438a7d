"""The proposal card: summary first, the buttons right after, the details one click away.

A reviewer decides in seconds, so the card shows the state in its header, the sizes in one
fields block, what the workload adds up to (totals, share of the quota and the cluster, a cost
estimate), what does not fit, the top reason, then the buttons. The rendered manifest and the
Terraform plan open in a modal ("View manifest" / "View plan"); their sha256 stay on the card.
A change that does not fit is never offered for approval as is: the card offers the nearest
size that fits instead, or says to ask for more quota.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.approvals.models import CardRef, Proposal, ProposalState, Revision
from bot.executors.base import ChangeRequest
from bot.slack.confidence import confidence_hint, confidence_word
from bot.slack.footprint import footprint
from bot.slack.kit import (
    MAX_FALLBACK,
    MAX_MESSAGE_BLOCKS,
    MAX_SECTION,
    MAX_VIEW_BLOCKS,
    Block,
    button,
    chunks,
    clip,
    context,
    escape,
    fields,
    header,
    section,
    text,
)
from tools.sizing.models import Reason

__all__ = [
    "APPROVE",
    "EDIT",
    "FIT",
    "REJECT",
    "STATE_TITLES",
    "VIEW_MANIFEST",
    "VIEW_PLAN",
    "artifact_view",
    "card_text",
    "gitops_line",
    "proposal_card",
    "rejection_line",
    "state_line",
]

S = ProposalState
APPROVE, EDIT, REJECT = "sizer_approve", "sizer_edit", "sizer_reject"
FIT = "sizer_fit"
VIEW_MANIFEST, VIEW_PLAN = "sizer_view_manifest", "sizer_view_plan"
PLACEHOLDER_IMAGE = "registry.local/placeholder:latest"
WARNING_STATISTICS = ("input check", "namespace policy")

STATE_TITLES = {
    S.PROPOSED: ":hourglass_flowing_sand: Waiting for approval",
    S.APPROVED: ":white_check_mark: Approved",
    S.REJECTED: ":no_entry_sign: Rejected",
    S.EXPIRED: ":zzz: Expired",
    S.APPLYING: ":gear: Applying",
    S.APPLIED: ":rocket: Applied",
    S.FAILED: ":x: Failed",
    S.ROLLED_BACK: ":leftwards_arrow_with_hook: Rolled back",
    S.SUBMITTED: ":arrow_heading_up: Pull request opened",
    S.MERGED: ":twisted_rightwards_arrows: Merged; the GitOps controller will roll it out",
    S.CLOSED: ":wastebasket: Closed without merging",
}


def _words(state: ProposalState) -> str:
    return STATE_TITLES[state].split(" ", 1)[1]


def _percent(share: float | None) -> str | None:
    if share is None:
        return None
    return "<1 %" if 0 < share < 0.01 else f"{share:.0%}".replace("%", " %")


def _limit(value: str | None) -> str:
    return f"limit {value}" if value else "no limit"


def _summary(proposal: Proposal) -> Block:
    s = proposal.current.sizing
    hint = confidence_hint(proposal)
    pairs = [
        ("Replicas", str(s.replicas)),
        ("Namespace", f"`{proposal.namespace}`"),
        *([("Cluster", f"`{proposal.cluster}`")] if proposal.cluster else []),
        ("CPU per pod", f"{s.cpu_request} request · {_limit(s.cpu_limit)}"),
        ("Memory per pod", f"{s.memory_request} request · {_limit(s.memory_limit)}"),
    ]
    # The image, its port and readiness check have a line of their own below.
    word = f"{confidence_word(proposal.confidence)} ({proposal.confidence:.2f})"
    pairs.append(("Confidence", f"{word}" + (f"\n_{hint}_" if hint else "")))
    return fields(pairs)


def _against_running(proposal: Proposal) -> str | None:
    """What this revision would change in the one that runs now (a check's right-size)."""
    running = proposal.in_force
    if running is None or running == proposal.revision or proposal.state != S.PROPOSED:
        return None
    base = next((r.sizing for r in proposal.revisions if r.number == running), None)
    if base is None:
        return None
    new = proposal.current.sizing
    changes = [
        f"{field.title} {getattr(base, name) or 'none'} → {getattr(new, name) or 'none'}"
        for name, field in type(new).model_fields.items()
        if getattr(base, name) != getattr(new, name)
    ]
    if not changes:
        return None
    return f"*Changes* to revision {running}, which runs now: " + " · ".join(changes)


def _shares(*parts: tuple[str, float | None]) -> str:
    said = [f"{p} of the {name}" for name, share in parts if (p := _percent(share))]
    return ", ".join(said)


def _footprint_text(proposal: Proposal) -> str:
    rev = proposal.current
    f = footprint(rev)
    s = rev.sizing
    lines = [
        f"*Total* {f.cpu_text} · {f.memory_text} memory requested "
        f"({s.replicas} × {s.cpu_request}, {s.replicas} × {s.memory_request})"
    ]
    shares = []
    quota = _shares(("CPU quota", f.quota_cpu_share), ("memory quota", f.quota_memory_share))
    if quota:
        shares.append(f"`{proposal.namespace}`: {quota}")
    cluster = _shares(("CPU", f.cluster_cpu_share), ("memory", f.cluster_memory_share))
    if cluster:
        shares.append(f"cluster: {cluster}")
    if shares:
        lines.append("*Share* " + " · ".join(shares))
    if f.monthly_cost is not None and rev.prices is not None:
        c = rev.prices.currency
        lines.append(
            f"*Cost* about {c}{f.monthly_cost:,.0f} a month _(estimate from "
            f"{c}{rev.prices.vcpu_hour:g} per vCPU-hour and {c}{rev.prices.gib_hour:g} per "
            "GiB-hour of requests)_"
        )
    return "\n".join(lines)


def _misfit(revision: Revision) -> Block | None:
    change = revision.change
    if not change.preflight:
        return None
    lines = [":no_entry: *Does not fit the cluster, so it cannot be approved as is*"]
    lines += [f"• {clip(m, 600)}" for m in change.preflight[:5]]
    most = change.fit.max_replicas if change.fit is not None else None
    if most is not None and most >= 1:
        lines.append(
            f"*Nearest size that fits:* {most} replicas at the same pod size "
            f"(instead of {revision.sizing.replicas}). Use it below, or Edit."
        )
    elif most == 0:
        lines.append(
            "Not even one pod of this size fits right now: ask the platform team for more "
            "quota, or Edit to smaller pods."
        )
    else:
        lines.append("Edit to a smaller size, or ask the platform team for more quota.")
    return section("\n".join(lines))


def _warnings(proposal: Proposal) -> list[str]:
    return [f":warning: {r.text}" for r in proposal.reasons if r.statistic in WARNING_STATISTICS]


def _top_reason(proposal: Proposal) -> str | None:
    sizing = [r for r in proposal.reasons if r.field != "confidence" and _plain(r)]
    if not sizing:
        return None
    more = f" · all {len(proposal.reasons)} reasons: `why {proposal.id}`"
    return f"*Why* {clip(sizing[0].text, 280)}{more}"


def _plain(reason: Reason) -> bool:
    return reason.statistic not in WARNING_STATISTICS


def rejection_line(proposal: Proposal) -> str | None:
    """Who rejected the revision and, in their words, why (escaped: a reason pings nobody)."""
    if proposal.state != S.REJECTED or not proposal.rejection_reason:
        return None
    return f"*Rejected by <@{proposal.updated_by}>:* “{escape(proposal.rejection_reason)}”"


def _outcome(proposal: Proposal) -> str | None:
    running = proposal.in_force
    if proposal.state in (S.EXPIRED, S.REJECTED) and running not in (None, proposal.revision):
        expired = proposal.state == S.EXPIRED
        what = "Nobody decided on it before it expired" if expired else "It was rejected"
        return (
            f"{what}, so revision {proposal.revision} was never applied: revision {running} "
            "stays applied and its checks go on."
        )
    if proposal.state == S.EXPIRED:
        return (
            "Nobody decided before it expired, so it was never approved. For a fresh "
            f"proposal ask again: `/sizer size {proposal.workload} …`"
        )
    result = proposal.result
    if result is None or result.ok:
        return None
    where = f" at *{result.failed_step}*" if result.failed_step else ""
    what = "Rolled back" if proposal.state == S.ROLLED_BACK else "Failed"
    line = f"*{what}*{where}: {clip(result.error or 'no detail recorded', 1500)}"
    if proposal.state == S.ROLLED_BACK and running not in (None, proposal.revision):
        line += f"\nRevision {running} stays applied and its checks go on."
    return line


def state_line(proposal: Proposal, *, with_error: bool = True) -> str:
    word = _words(proposal.state)
    if proposal.state == S.PROPOSED:
        when = datetime.fromtimestamp(proposal.expires_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
        expires = f"<!date^{int(proposal.expires_at)}^{{date_short_pretty}} {{time}}|{when}>"
        return f"{word} · asked by <@{proposal.requester}> · expires {expires}"
    by = "" if proposal.updated_by == "sizer" else f" by <@{proposal.updated_by}>"
    change = _change_request(proposal)
    if proposal.state == S.SUBMITTED and change is not None and change.url is None:
        word = ":arrow_heading_up: Branch pushed"
    line = f"{word}{by} · asked by <@{proposal.requester}>"
    if with_error and proposal.result is not None and proposal.result.error:
        line += f" · {clip(proposal.result.error, 300)}"
    link = gitops_line(proposal)
    if link:
        line += f" · {link}"
    return line


def _change_request(proposal: Proposal) -> ChangeRequest | None:
    return proposal.result.change_request if proposal.result is not None else None


def gitops_line(proposal: Proposal) -> str:
    """The branch and pull request a GitOps approval produced, as Slack links."""
    change = _change_request(proposal)
    if change is None:
        return ""
    branch = f"branch `{change.branch}`"
    if change.url:
        kind = "merge request" if change.provider == "gitlab" else "pull request"
        number = f"!{change.number}" if change.provider == "gitlab" else f"#{change.number}"
        return f"<{change.url}|{kind} {number}> ({branch})"
    return f"{branch} on `{clip(change.repo, 200)}`"


def _gitops(proposal: Proposal) -> list[Block]:
    """In GitOps mode: what approval commits instead of applying, and any conflict."""
    out: list[Block] = []
    change = proposal.current.change
    git = change.git_base
    if git is not None:
        review = "a pull request is opened" if git.provider != "none" else "the branch is pushed"
        note = (
            f"*GitOps*: on approval `{git.path}` is committed on a new branch from "
            f"`{git.branch}` of `{clip(git.repo, 200)}` and {review}; Sizer applies nothing, "
            "your GitOps controller rolls it out once merged."
        )
        if change.plan_sha256:
            note += " The Terraform plan goes into the pull request; your pipeline applies it."
        out.append(context(note))
    result = proposal.result
    if result is not None and result.conflict_diff:
        out.append(
            section(
                ":warning: *Conflict*: the file changed on the base since this proposal; "
                "nothing was committed or pushed.\n```\n"
                + clip(result.conflict_diff, MAX_SECTION - 200)
                + "\n```"
            )
        )
    return out


def _footer(proposal: Proposal) -> str:
    """Who did what: after an approval the approver approved; the outcome is the system's."""
    if proposal.state in (S.APPLYING, S.APPLIED, S.FAILED, S.ROLLED_BACK):
        by = proposal.updated_by
        approved = "" if by == "sizer" else f" · approved by <@{by}>"
        return f"{_words(proposal.state)}{approved} · asked by <@{proposal.requester}>"
    return state_line(proposal, with_error=False)


def _fingerprints(proposal: Proposal) -> str:
    rev = proposal.current
    change = rev.change
    parts = [f"`{proposal.id}` revision {rev.number}"]
    parts.append(f"manifest sha256 `{change.manifest_sha256[:12]}`")
    if change.plan_sha256:
        parts.append(f"plan sha256 `{change.plan_sha256[:12]}`")
    return " · ".join(parts)


def _decision(proposal: Proposal) -> list[Block]:
    ref = proposal.card_ref()
    value = ref.encode()
    elements: list[Block] = []
    if proposal.state == S.PROPOSED:
        change = proposal.current.change
        most = change.fit.max_replicas if change.fit is not None else None
        if not change.preflight:
            gitops = change.git_base is not None
            confirm = (
                f"This commits revision {ref.revision} of `{proposal.workload}` (namespace "
                f"`{proposal.namespace}`) exactly as shown, for review; the GitOps controller "
                "applies it once merged."
                if gitops
                else f"This applies revision {ref.revision} of `{proposal.workload}` to "
                f"namespace `{proposal.namespace}` exactly as shown."
            )
            approve = button(APPROVE, "Approve", value, "primary")
            approve["confirm"] = {
                "title": text(
                    "plain_text", "Commit this change?" if gitops else "Apply this change?", 100
                ),
                "text": text("mrkdwn", confirm, 300),
                "confirm": text(
                    "plain_text", "Approve and commit" if gitops else "Approve and apply", 30
                ),
                "deny": text("plain_text", "Cancel", 30),
            }
            elements.append(approve)
        elif most is not None and most >= 1:
            elements.append(button(FIT, f"Use {most} replicas", value, "primary"))
        elements.append(button(EDIT, "Edit", value))
        elements.append(button(REJECT, "Reject", value, "danger"))
    elements.append(button(VIEW_MANIFEST, "View manifest", value))
    if proposal.current.change.plan_summary:
        elements.append(button(VIEW_PLAN, "View plan", value))
    return [{"type": "actions", "block_id": "sizer_decision", "elements": elements}]


def image_line(proposal: Proposal) -> str:
    """The container the proposal runs; without an image it says it cannot be applied."""
    request = proposal.request or {}
    image, port = request.get("image"), request.get("port", 8080)
    probe = request.get("probe_path")
    check = f"HTTP `{probe}`" if probe else "TCP"
    if not image:
        return (
            ":warning: *Image* not set — this proposal cannot be applied; ask again with the "
            f"image (e.g. `--image ghcr.io/acme/{proposal.workload}:1.0`) · port {port}"
        )
    return f"*Image* `{image}` · port {port} · readiness {check}"


DOES_NOT_FIT_TITLE = ":no_entry: Does not fit: pick a size that does"


def card_title(proposal: Proposal) -> str:
    """The header: the state, or — when a waiting proposal cannot be approved — why not."""
    if proposal.state == S.PROPOSED and proposal.current.change.preflight:
        return DOES_NOT_FIT_TITLE
    return STATE_TITLES[proposal.state]


def proposal_card(proposal: Proposal) -> list[Block]:
    rev = proposal.current
    blocks: list[Block] = [header(f"{card_title(proposal)} · {proposal.workload}")]
    rejected = rejection_line(proposal)
    if rejected:  # the decision and its reason first: why the card is closed
        blocks.append(section(rejected, verbatim=True))
    blocks.append(_summary(proposal))
    changes = _against_running(proposal)
    if changes:
        blocks.append(section(changes))
    blocks.append(section(_footprint_text(proposal) + "\n" + image_line(proposal)))
    outcome = _outcome(proposal)
    if outcome:
        blocks.append(section(outcome))
    misfit = _misfit(rev) if proposal.state == S.PROPOSED else None
    if misfit is not None:
        blocks.append(misfit)
    notes = _warnings(proposal)
    top = _top_reason(proposal)
    if notes or top:
        blocks.append(section("\n".join([*notes, *([top] if top else [])])))
    blocks += _gitops(proposal)
    blocks += _decision(proposal)
    if rev.number > 1 and rev.note:
        blocks.append(context(f"Revision {rev.number}: {rev.note}"))
    # The outcome section above already says what went wrong; the footer says who and when.
    footer = _footer(proposal)
    blocks.append(context(footer + "\n" + _fingerprints(proposal)))
    return blocks[:MAX_MESSAGE_BLOCKS]


def card_text(proposal: Proposal) -> str:
    """Fallback text (notifications, screen readers)."""
    s = proposal.current.sizing
    return clip(
        f"{_words(proposal.state)}: {proposal.namespace}/{proposal.workload} — {s.replicas} "
        f"replicas, cpu {s.cpu_request}/{s.cpu_limit or '-'}, memory "
        f"{s.memory_request}/{s.memory_limit or '-'} ({proposal.id})",
        MAX_FALLBACK,
    )


def artifact_view(proposal: Proposal, ref: CardRef, kind: str) -> dict[str, Any]:
    """The manifest or the plan of the revision a card showed, in a modal, with its sha256."""
    rev = next((r for r in proposal.revisions if r.number == ref.revision), proposal.current)
    change = rev.change
    if kind == "plan":
        title = f"Plan · revision {rev.number}"
        body = change.plan_summary or "no infrastructure change"
        digest = change.plan_sha256 or "none (nothing to plan)"
        label = "Terraform plan"
    else:
        title = f"Manifest · revision {rev.number}"
        body = change.manifest_yaml
        digest = change.manifest_sha256
        label = "Rendered manifest"
    objects = ", ".join(f"`{o}`" for o in change.objects) or "none listed"
    head = [
        section(
            f"*{label}* of `{proposal.namespace}/{proposal.workload}`, exactly what an approval "
            f"applies.\nsha256 `{digest}`\nObjects: {objects}"
        )
    ]
    room = MAX_VIEW_BLOCKS - len(head)
    pieces = chunks(body, MAX_SECTION - 10)
    if len(pieces) > room:
        pieces = [*pieces[: room - 1], f"… {len(pieces) - room + 1} more parts not shown"]
    code_blocks = [section(f"```\n{p}\n```") for p in pieces]
    return {
        "type": "modal",
        "title": text("plain_text", clip(title, 24), 24),
        "close": text("plain_text", "Close", 24),
        "blocks": [*head, *code_blocks][:MAX_VIEW_BLOCKS],
    }
