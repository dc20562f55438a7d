"""The grammar shared by ``/sizer``, mentions and direct messages.

::

    size NAME --rps 50-100 [--language python] [--framework fastapi] [--kind http]
              [--similar image-resizer]... [--namespace team-a] [--cluster prod] [--critical]
              [--image ghcr.io/acme/items-api:1.4.2] [--port 8080] [--probe-path /healthz]
              [--messages 5-10]   (a worker's load instead of --rps)
    why WORKLOAD | why NAMESPACE/WORKLOAD | why PROPOSAL_ID   [--detail: the engine's numbers]
    status PROPOSAL_ID
    resolve PROPOSAL_ID applied|failed|rolled_back [NOTE...]
    help

Bad input raises :class:`CommandError` whose message says exactly what to fix.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from pydantic import ValidationError

from bot.approvals.models import ProposalState
from tools.asking import FlagError, is_label, name_problem, read_flags, request_error, split_flags
from tools.propose import SizeRequest

HELP = """*Sizer* sizes Kubernetes workloads from evidence; a person approves every change.
• `size NAME --rps 50-100 [--language python] [--framework fastapi] [--kind http] \
[--similar SERVICE]... [--namespace NS] [--cluster C] [--critical] [--image IMAGE] [--port 8080] \
[--probe-path /healthz]` — propose replicas, requests and limits (workers: `--messages 5-10`)
• `why WORKLOAD` (or `NAMESPACE/WORKLOAD`, or a proposal ID) — the numbers in plain words; \
add `--detail` for the engine's own reasons
• `status PROPOSAL_ID` — where a proposal is and who acted on it
• `resolve PROPOSAL_ID applied|failed|rolled_back [note]` — approvers: close an apply that \
was interrupted by a restart
• `help` — this text
Example: `size items-api --language python --framework fastapi --rps 50-100 --similar \
emailservice --namespace team-a`"""

_OUTCOMES = ("applied", "failed", "rolled_back")
_DASHES = str.maketrans({"\u2014": "--", "\u2013": "--"})
_PROPOSAL_ID = re.compile(r"\Ap-[0-9a-f]{8}\Z")
_MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")


class CommandError(ValueError):
    """Bad input; the message says what to fix."""


class UnknownVerb(CommandError):
    """Not a command at all: free text, answered with the help text."""


@dataclass(frozen=True)
class SizeCommand:
    request: SizeRequest


@dataclass(frozen=True)
class WhyCommand:
    target: str
    detail: bool = False


@dataclass(frozen=True)
class StatusCommand:
    proposal_id: str


@dataclass(frozen=True)
class ResolveCommand:
    proposal_id: str
    outcome: ProposalState
    note: str


@dataclass(frozen=True)
class HelpCommand:
    pass


Command = SizeCommand | WhyCommand | StatusCommand | ResolveCommand | HelpCommand


def clean(text: str) -> str:
    """Undo what Slack does to typed text: mentions, entities, smart dashes, code ticks."""
    text = _MENTION.sub(" ", text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    text = text.translate(_DASHES).replace("`", "")
    return text.replace("\u201c", '"').replace("\u201d", '"').strip()


def parse(text: str) -> Command:
    try:
        words = shlex.split(clean(text))
    except ValueError as exc:
        raise CommandError(f"cannot read the command ({exc}); check the quotes") from None
    if not words or words[0].lower() == "help":
        return HelpCommand()
    verb, rest = words[0].lower(), words[1:]
    if verb == "size":
        return SizeCommand(_size(rest))
    if verb == "why":
        detail = "--detail" in rest
        rest = [w for w in rest if w != "--detail"]
        target = _one(rest, "why", "WORKLOAD, NAMESPACE/WORKLOAD or a proposal ID")
        for part in target.split("/", 1):
            _check_name(part, "why")
        return WhyCommand(target, detail)
    if verb == "status":
        return StatusCommand(_proposal_id(_one(rest, "status", "a proposal ID like p-1a2b3c4d")))
    if verb == "resolve":
        return _resolve(rest)
    raise UnknownVerb(f"I don't know `{words[0]}`; try `help`")


def _one(rest: list[str], verb: str, what: str) -> str:
    if len(rest) != 1:
        raise CommandError(f"`{verb}` takes exactly one argument: {what}")
    return rest[0]


def _resolve(rest: list[str]) -> ResolveCommand:
    if len(rest) < 2 or rest[1] not in _OUTCOMES:
        raise CommandError(
            f"usage: `resolve PROPOSAL_ID {'|'.join(_OUTCOMES)} [note]`, after checking the cluster"
        )
    return ResolveCommand(_proposal_id(rest[0]), ProposalState(rest[1]), " ".join(rest[2:]))


def _size(rest: list[str]) -> SizeRequest:
    """``size NAME --flags`` through the same reader as plain language, strictly."""
    try:
        positional, options = split_flags(rest)
        draft = read_flags(options)
    except FlagError as exc:
        raise CommandError(str(exc)) from None
    if draft.name is None:
        if len(positional) != 1:
            raise CommandError(
                "`size` takes one workload name, then options, e.g. `size items-api --rps 50-100`"
            )
        if not is_label(positional[0]):
            raise CommandError(name_problem("the workload name", positional[0]))
        draft = draft.model_copy(update={"name": positional[0]})
    elif positional:
        raise CommandError(f"give the name once: {positional[0]!r} and --name {draft.name!r}")
    if "load" in draft.missing():
        raise CommandError(
            "--rps is required: expected requests per second, e.g. --rps 50-100 "
            "(a worker may give --messages 5-10 or --kind worker alone)"
        )
    try:
        return SizeRequest.model_validate(draft.model_dump(exclude={"problems"}, exclude_none=True))
    except ValidationError as exc:
        raise CommandError(request_error(exc, flags=True)) from None


def _proposal_id(text: str) -> str:
    if not _PROPOSAL_ID.match(text):
        raise CommandError(
            f"{text!r} is not a proposal ID; they look like p-1a2b3c4d (see the card)"
        )
    return text


def _check_name(name: str, what: str) -> None:
    if not is_label(name):
        raise CommandError(name_problem(what, name))
