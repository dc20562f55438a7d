"""Block Kit renderers: pure functions from stored proposals to Slack payloads.

Slack refuses payloads past its limits, so every renderer clips: 50 blocks per message and
100 per view, 3000 characters per section text, 150 per header, 75 per button label.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.approvals.audit import AuditEntry
from bot.approvals.models import CardRef, Proposal, ProposalState
from bot.executors.base import ChangeRequest
from bot.service import WhyAnswer
from tools.plain_why import Numbers, edits_between, plain_why
from tools.sizing.models import Reason

Block = dict[str, Any]
S = ProposalState

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION = 3000
MAX_HEADER = 150
MAX_FALLBACK = 3000
TOP_REASONS = 4
APPROVE, EDIT, REJECT = "sizer_approve", "sizer_edit", "sizer_reject"
CHOOSE = "sizer_choose"  # action ids CHOOSE-0, CHOOSE-1…: one button per offered service
MAX_CHOICES = 5
EDIT_VIEW = "sizer_edit_submit"

_STATE_WORDS = {
    S.PROPOSED: ":hourglass_flowing_sand: Waiting for approval",
    S.APPROVED: ":white_check_mark: Approved",
    S.REJECTED: ":no_entry_sign: Rejected",
    S.EXPIRED: ":zzz: Expired",
    S.APPLYING: ":gear: Applying",
    S.APPLIED: ":rocket: Applied",
    S.FAILED: ":x: Apply failed",
    S.ROLLED_BACK: ":leftwards_arrow_with_hook: Rolled back",
    S.SUBMITTED: ":arrow_heading_up: Pull request opened",
    S.MERGED: ":twisted_rightwards_arrows: Merged; the GitOps controller will roll it out",
    S.CLOSED: ":wastebasket: Closed without merging",
}


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _text(kind: str, text: str, limit: int) -> dict[str, Any]:
    body: dict[str, Any] = {"type": kind, "text": clip(text, limit)}
    if kind == "plain_text":
        body["emoji"] = True
    return body


def header(text: str) -> Block:
    return {"type": "header", "text": _text("plain_text", text, MAX_HEADER)}


def section(text: str) -> Block:
    return {"type": "section", "text": _text("mrkdwn", text, MAX_SECTION)}


def context(text: str) -> Block:
    return {"type": "context", "elements": [_text("mrkdwn", text, MAX_SECTION)]}


def _code(text: str, limit: int = MAX_SECTION) -> str:
    fence = "```"
    room = limit - 2 * len(fence) - 2
    return f"{fence}\n{clip(text, room)}\n{fence}"


def _confidence(value: float) -> str:
    word = "high" if value >= 0.7 else "medium" if value >= 0.4 else "low"
    return f"{value:.2f} ({word})"


def sizing_table(proposal: Proposal) -> str:
    s = proposal.current.sizing
    rows = [
        f"{'':8}{'request':>10}{'limit':>10}",
        f"{'cpu':8}{s.cpu_request:>10}{s.cpu_limit or '—':>10}",
        f"{'memory':8}{s.memory_request:>10}{s.memory_limit or '—':>10}",
    ]
    return _code("\n".join(rows))


def state_line(proposal: Proposal) -> str:
    word = _STATE_WORDS[proposal.state]
    if proposal.state == S.PROPOSED:
        when = datetime.fromtimestamp(proposal.expires_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
        expires = f"<!date^{int(proposal.expires_at)}^{{date_short_pretty}} {{time}}|{when}>"
        return f"{word} · asked by <@{proposal.requester}> · expires {expires}"
    by = "" if proposal.updated_by == "sizer" else f" by <@{proposal.updated_by}>"
    change = _change_request(proposal)
    if proposal.state == S.SUBMITTED and change is not None and change.url is None:
        word = ":arrow_heading_up: Branch pushed"
    line = f"{word}{by} · asked by <@{proposal.requester}>"
    if proposal.result is not None and proposal.result.error:
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


def _reason_line(reason: Reason) -> str:
    return f"• *{reason.field.replace('_', ' ')}*: {reason.text}"


def _top_reasons(proposal: Proposal) -> str:
    """The sizing reasons first, then every input warning, then what the confidence rests on."""
    sizing = [r for r in proposal.reasons if r.field != "confidence"]
    warnings = [r for r in proposal.reasons if r.statistic == "input check"]
    confidence = [r for r in proposal.reasons if r.field == "confidence" and r not in warnings]
    lines = [_reason_line(r) for r in sizing[:TOP_REASONS]]
    lines += [f":warning: {r.text}" for r in warnings]
    lines += [f"_{r.text}_" for r in confidence[:1]]
    shown = min(len(sizing), TOP_REASONS) + len(warnings) + min(len(confidence), 1)
    if len(proposal.reasons) > shown:
        lines.append(f"_…and {len(proposal.reasons) - shown} more: `why {proposal.id}`_")
    return "\n".join(lines)


def proposal_card(proposal: Proposal) -> list[Block]:
    rev = proposal.current
    change = rev.change
    blocks: list[Block] = [
        header(f"Sizing proposal: {proposal.workload}"),
        section(
            _cluster_part(proposal) + f"*Namespace* `{proposal.namespace}` · "
            f"*Replicas* {rev.sizing.replicas} · "
            f"*Confidence* {_confidence(proposal.confidence)} · revision {rev.number} · "
            f"`{proposal.id}`"
        ),
        section(sizing_table(proposal)),
        section(_image_line(proposal)),
    ]
    why = _top_reasons(proposal)
    if why:
        blocks.append(section("*Why*\n" + why))
    if rev.number > 1 and rev.note:
        blocks.append(context(f"Revision {rev.number}: {rev.note}"))
    objects = "\n".join(f"• `{o}`" for o in change.objects) or "• (none listed)"
    git = change.git_base
    title = "What will be applied" if git is None else "What will be committed"
    blocks.append(
        section(
            f"*{title}*\n*Kubernetes objects*\n{objects}\n"
            f"*Terraform plan*: {change.plan_summary or 'no infrastructure change'}"
        )
    )
    if git is not None:
        review = "a pull request is opened" if git.provider != "none" else "the branch is pushed"
        text = (
            f"*GitOps*: on approval `{git.path}` is committed on a new branch from "
            f"`{git.branch}` of `{clip(git.repo, 200)}` and {review}; Sizer applies nothing, "
            "your GitOps controller rolls it out once merged."
        )
        if change.plan_sha256:
            text += " The Terraform plan goes into the pull request; your pipeline applies it."
        blocks.append(context(text))
    result = proposal.result
    if result is not None and result.conflict_diff:
        blocks.append(
            section(
                ":warning: *Conflict*: the file changed on the base since this proposal; "
                "nothing was committed or pushed.\n"
                + _code(result.conflict_diff, MAX_SECTION - 120)
            )
        )
    if change.preflight:
        misfits = "\n".join(f"• {m}" for m in change.preflight)
        blocks.append(section(f":warning: *Does not fit the cluster right now*\n{misfits}"))
    blocks.append(section("*Ansible render*\n" + _code(change.manifest_yaml, MAX_SECTION - 20)))
    sha = f"manifest sha256 `{change.manifest_sha256[:16]}`"
    if change.plan_sha256:
        sha += f" · plan sha256 `{change.plan_sha256[:16]}`"
    blocks.append(context(sha + f" · card `{rev.shown_sha256[:16]}`"))
    blocks.append(context(state_line(proposal)))
    if proposal.state == S.PROPOSED:
        blocks.append(
            actions(
                proposal.card_ref(),
                proposal.workload,
                proposal.namespace,
                gitops=change.git_base is not None,
            )
        )
    return blocks[:MAX_MESSAGE_BLOCKS]


def _cluster_part(proposal: Proposal) -> str:
    return f"*Cluster* `{proposal.cluster}` · " if proposal.cluster else ""


def actions(ref: CardRef, workload: str, namespace: str, *, gitops: bool = False) -> Block:
    value = ref.encode()
    confirm = (
        f"This commits revision {ref.revision} of `{workload}` (namespace `{namespace}`) "
        "exactly as shown, for review; the GitOps controller applies it once merged."
        if gitops
        else f"This applies revision {ref.revision} of `{workload}` to namespace "
        f"`{namespace}` exactly as shown."
    )
    return {
        "type": "actions",
        "block_id": "sizer_decision",
        "elements": [
            {
                "type": "button",
                "action_id": APPROVE,
                "style": "primary",
                "text": _text("plain_text", "Approve", 75),
                "value": value,
                "confirm": {
                    "title": _text(
                        "plain_text",
                        "Commit this change?" if gitops else "Apply this change?",
                        100,
                    ),
                    "text": _text(
                        "mrkdwn",
                        clip(confirm, 300),
                        300,
                    ),
                    "confirm": _text(
                        "plain_text", "Approve and commit" if gitops else "Approve and apply", 30
                    ),
                    "deny": _text("plain_text", "Cancel", 30),
                },
            },
            {
                "type": "button",
                "action_id": EDIT,
                "text": _text("plain_text", "Edit", 75),
                "value": value,
            },
            {
                "type": "button",
                "action_id": REJECT,
                "style": "danger",
                "text": _text("plain_text", "Reject", 75),
                "value": value,
            },
        ],
    }


def card_text(proposal: Proposal) -> str:
    """Fallback text (notifications, screen readers)."""
    s = proposal.current.sizing
    word = _STATE_WORDS[proposal.state].split(" ", 1)[1]
    return clip(
        f"Sizing proposal {proposal.id} for {proposal.namespace}/{proposal.workload}: "
        f"{s.replicas} replicas, cpu {s.cpu_request}/{s.cpu_limit or '-'}, memory "
        f"{s.memory_request}/{s.memory_limit or '-'} — {word}",
        MAX_FALLBACK,
    )


def _image_line(proposal: Proposal) -> str:
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


def numbers_of(proposal: Proposal) -> Numbers:
    return Numbers(**proposal.current.sizing.model_dump())


def plain_lines(proposal: Proposal, focus: tuple[str, ...] = ()) -> list[str]:
    """The plain-words answer: what the numbers rest on, then who changed what."""
    edits = edits_between(
        (r.number, f"<@{r.author}>", Numbers(**r.sizing.model_dump())) for r in proposal.revisions
    )
    language = (proposal.request or {}).get("language")
    return plain_why(
        proposal.reasons,
        numbers_of(proposal),
        language=language if isinstance(language, str) else None,
        edits=edits,
        focus=focus,
        proposed=Numbers(**proposal.revisions[0].sizing.model_dump()),
    )


def why_blocks(answer: WhyAnswer, *, detail: bool = False) -> list[Block]:
    """A short plain answer; with ``detail``, every stored reason word for word as well."""
    p = answer.proposal
    source = "applied proposal" if answer.applied else f"latest proposal ({p.state})"
    s = p.current.sizing
    blocks: list[Block] = [
        section(
            f"*Why `{p.namespace}/{p.workload}` is sized this way* — "
            + (f"cluster `{p.cluster}`, " if p.cluster else "")
            + f"from the {source} "
            f"`{p.id}` revision {p.revision}: {s.replicas} replicas, cpu "
            f"{s.cpu_request}/{s.cpu_limit or '—'}, memory {s.memory_request}/"
            f"{s.memory_limit or '—'}, confidence {_confidence(p.confidence)}"
        ),
        section("\n".join(plain_lines(p)) or "No reasons are stored for it."),
    ]
    if not detail:
        blocks.append(context(f"The engine's numbers: `/sizer why {p.id} --detail`"))
        return blocks
    for reason in p.reasons:
        detail_line = f"_{reason.statistic}; {reason.window}_"
        if reason.peers:
            detail_line += f" · peers: {', '.join(reason.peers)}"
        blocks.append(section(f"{_reason_line(reason)}\n{detail_line}"))
    for rev in p.revisions[1:]:
        blocks.append(context(f"Revision {rev.number}: {rev.note}"))
    if len(blocks) > MAX_MESSAGE_BLOCKS:
        hidden = len(blocks) - (MAX_MESSAGE_BLOCKS - 1)
        blocks = [*blocks[: MAX_MESSAGE_BLOCKS - 1], context(f"…{hidden} more not shown")]
    return blocks


def why_text(answer: WhyAnswer) -> str:
    return clip("\n".join(plain_lines(answer.proposal)), MAX_FALLBACK)


def choice_blocks(text: str, choices: tuple[str, ...]) -> list[Block]:
    """A question with one button per service it could mean."""
    buttons = [
        {
            "type": "button",
            "action_id": f"{CHOOSE}-{i}",
            "text": _text("plain_text", name, 75),
            "value": name,
        }
        for i, name in enumerate(choices[:MAX_CHOICES])
    ]
    return [section(text), {"type": "actions", "elements": buttons}]


def status_blocks(proposal: Proposal, trail: list[AuditEntry]) -> list[Block]:
    blocks = [
        section(
            f"*`{proposal.id}`* — `{proposal.namespace}/{proposal.workload}` revision "
            f"{proposal.revision}\n{state_line(proposal)}"
        )
    ]
    lines = [
        f"`{e.at[:19].replace('T', ' ')}` {e.to_state if e.event == 'transition' else 'refused'}"
        f" by <@{e.actor}> — {clip(e.reason, 200)}"
        if e.actor != "sizer"
        else f"`{e.at[:19].replace('T', ' ')}` {e.to_state} — {clip(e.reason, 200)}"
        for e in trail[-15:]
    ]
    if lines:
        blocks.append(section("\n".join(lines)))
    if proposal.result is not None:
        steps = ", ".join(f"{s.name} {'ok' if s.ok else 'failed'}" for s in proposal.result.steps)
        if steps:
            blocks.append(context("Steps: " + steps))
    return blocks


def edit_modal(proposal: Proposal) -> dict[str, Any]:
    s = proposal.current.sizing
    fields = (
        ("replicas", "Replicas", str(s.replicas), False, "1 to the namespace's limit"),
        ("cpu_request", "CPU request", s.cpu_request, False, "e.g. 250m or 1.5"),
        ("cpu_limit", "CPU limit", s.cpu_limit or "", True, "empty: no CPU limit"),
        ("memory_request", "Memory request", s.memory_request, False, "e.g. 256Mi or 1Gi"),
        ("memory_limit", "Memory limit", s.memory_limit or "", True, "e.g. 512Mi"),
    )
    blocks: list[Block] = [
        section(
            f"`{proposal.namespace}/{proposal.workload}` — revision {proposal.revision}. "
            "The edit is re-checked against capacity and needs approval like any change."
        )
    ]
    for block_id, label, value, optional, hint in fields:
        element: dict[str, Any] = {"type": "plain_text_input", "action_id": "value"}
        if value:
            element["initial_value"] = value
        blocks.append(
            {
                "type": "input",
                "block_id": block_id,
                "optional": optional,
                "label": _text("plain_text", label, 2000),
                "hint": _text("plain_text", hint, 2000),
                "element": element,
            }
        )
    return {
        "type": "modal",
        "callback_id": EDIT_VIEW,
        "private_metadata": proposal.card_ref().encode(),
        "title": _text("plain_text", "Edit proposal", 24),
        "submit": _text("plain_text", "Save revision", 24),
        "close": _text("plain_text", "Cancel", 24),
        "blocks": blocks,
    }


def home_view(user: str, proposals: list[Proposal]) -> dict[str, Any]:
    blocks: list[Block] = [header("Your recent proposals")]
    if not proposals:
        blocks.append(section("None yet. Try `/sizer size items-api --rps 50-100`."))
    for p in proposals[: (MAX_VIEW_BLOCKS - 1) // 2]:
        s = p.current.sizing
        blocks.append(
            section(
                f"*{p.workload}* in `{p.namespace}` · `{p.id}` r{p.revision}\n"
                f"{_STATE_WORDS[p.state]} · {s.replicas} × cpu {s.cpu_request} / memory "
                f"{s.memory_request}"
            )
        )
        blocks.append({"type": "divider"})
    return {"type": "home", "blocks": blocks[:MAX_VIEW_BLOCKS]}


def interrupted_text(proposal: Proposal) -> str:
    return (
        f":warning: I restarted while `{proposal.id}` (revision {proposal.revision} of "
        f"`{proposal.namespace}/{proposal.workload}`) was {proposal.state}; its outcome is "
        "unknown. An approver should check the cluster and run "
        f"`/sizer resolve {proposal.id} applied|failed|rolled_back [note]`."
    )
