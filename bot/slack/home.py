"""App Home: what waits on the viewer as approver, and their own requests.

Each entry links to its card (a permalink); times are relative ("2 h ago") with the clock time
in the viewer's own time zone (``users.info`` tz), so nobody converts UTC in their head.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import Any

from bot.approvals.models import Proposal
from bot.slack.card import STATE_TITLES
from bot.slack.kit import MAX_VIEW_BLOCKS, Block, context, header, section

__all__ = ["ago", "home_view", "local_time"]

PER_LIST = 20


def ago(then: float, now: float) -> str:
    seconds = max(0.0, now - then)
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86_400:
        return f"{int(seconds // 3600)} h ago"
    days = int(seconds // 86_400)
    return f"{days} day{'s' if days != 1 else ''} ago"


def local_time(at: float, zone: tzinfo, now: float) -> str:
    moment = datetime.fromtimestamp(at, zone)
    today = datetime.fromtimestamp(now, zone).date()
    day = "today" if moment.date() == today else moment.strftime("%a %d %b")
    return f"{day} {moment:%H:%M} {moment.tzname() or ''}".rstrip()


def _title(p: Proposal, links: Mapping[str, str]) -> str:
    link = links.get(p.id)
    name = f"<{link}|{p.workload}>" if link else f"*{p.workload}*"
    return f"{name} in `{p.namespace}`"


def _size(p: Proposal) -> str:
    s = p.current.sizing
    return f"{s.replicas} × {s.cpu_request} CPU, {s.memory_request} memory"


def home_view(
    user: str,
    pending: list[Proposal],
    mine: list[Proposal],
    *,
    links: Mapping[str, str] | None = None,
    zone: tzinfo,
    now: float,
) -> dict[str, Any]:
    links = links or {}
    blocks: list[Block] = [header("Waiting for your approval")]
    if not pending:
        blocks.append(context("Nothing waits on you."))
    for p in pending[:PER_LIST]:
        blocks.append(
            section(
                f"{_title(p, links)} · {_size(p)}\nasked by <@{p.requester}> "
                f"{ago(p.created_at, now)} ({local_time(p.created_at, zone, now)}) · "
                f"expires {local_time(p.expires_at, zone, now)}"
            )
        )
    blocks += [{"type": "divider"}, header("Your requests")]
    if not mine:
        blocks.append(
            section("None yet. Try `/sizer size items-api --rps 50-100 --similar image-resizer`.")
        )
    for p in mine[:PER_LIST]:
        blocks.append(
            section(
                f"{_title(p, links)} · {STATE_TITLES[p.state]} · {_size(p)}\n"
                f"updated {ago(p.updated_at, now)} ({local_time(p.updated_at, zone, now)})"
                f" · revision {p.revision}"
            )
        )
    return {"type": "home", "blocks": blocks[:MAX_VIEW_BLOCKS]}
