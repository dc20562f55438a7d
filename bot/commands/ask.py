"""``sizer ask "..."``: one message to the agent (or the built-in planner), answered here.

Prints what the Slack thread would show: the answer, then the proposal card's text when one
was posted or revised. ``--thread`` names the conversation, so follow-ups ("make it 4
replicas", "why so much memory?") continue it; memory lives in Redis like the bot's.
"""

from __future__ import annotations

import argparse
import getpass
import re
import sys
from typing import TYPE_CHECKING

from bot.cli import UsageError

if TYPE_CHECKING:
    from bot.service import ProposalService
    from bot.settings import Settings
    from bot.wiring import Components

NAME = "ask"
HELP = "ask Sizer in plain language, as in a Slack thread (the LLM if configured, else built-in)"
_THREAD = re.compile(r"\A[A-Za-z0-9._-]{1,64}\Z")
MAX_TEXT = 4000


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("text", metavar="TEXT", help='e.g. "size `items-api`, FastAPI, ~80 rps"')
    parser.add_argument("--thread", default="terminal", help="conversation name for follow-ups")
    parser.add_argument("--user", help="who is asking (default: the login name)")
    parser.add_argument(
        "--offline", action="store_true", help="use the built-in planner even if an LLM is set"
    )
    parser.add_argument("--forget", action="store_true", help="start the thread afresh")


def run(args: argparse.Namespace, settings: Settings) -> int:
    text = args.text.strip()
    if not text:
        raise UsageError('TEXT is empty: say what you need, e.g. "help"')
    if len(text) > MAX_TEXT:
        raise UsageError(f"TEXT is {len(text)} characters; keep it under {MAX_TEXT}")
    if not _THREAD.match(args.thread):
        raise UsageError("--thread: use 1-64 letters, digits, '.', '_' or '-'")
    user = args.user or getpass.getuser()
    from bot.wiring import Components, StartupError

    parts = Components(settings)
    try:
        parts.redis  # noqa: B018 -- thread memory and proposals live in Redis
    except StartupError as exc:
        raise UsageError(
            f"REDIS_URL: cannot reach Redis ({exc}); start it or fix the URL"
        ) from None
    service, proposals_off = terminal_service(parts)
    memory = parts.memory
    channel = "terminal"
    if args.forget:
        memory.forget(channel, args.thread)
    agent = parts.agent(service, offline=args.offline, proposals_off=proposals_off)
    if not args.offline and settings.llm.configured:
        print(f"sizer ask: model {settings.llm.model}", file=sys.stderr)
    answer = agent.respond(text, user, channel, args.thread)
    print(answer.text)
    if answer.choices:
        print("[buttons] " + " · ".join(answer.choices) + " (reply with one of them)")
    card = answer.new_card or answer.changed
    if card is not None and service is not None:
        from bot.slack import blocks

        print("\n[card] " + blocks.card_text(service.get(card)))
        print("[card] buttons: Approve · Edit · Reject (approve in Slack)")
    return 0


def terminal_service(parts: Components) -> tuple[ProposalService | None, str | None]:
    """The proposal service, or None and why not.

    The reason is not printed up front: ``sizer ask`` runs once per message, so a note on
    every call would repeat itself through a conversation, and most answers (help, why, a
    capacity question) do not depend on it. The answer that would have stored a proposal
    says it ("Not stored as a proposal ...: proposals cannot be stored here (<why>)").
    """
    from bot.wiring import StartupError

    try:
        return parts.service, None
    except StartupError as exc:
        return None, str(exc)
