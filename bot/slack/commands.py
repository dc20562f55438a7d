"""The grammar shared by ``/sizer``, mentions and direct messages.

::

    size NAME --rps 50-100 [--language python] [--framework fastapi] [--kind http]
              [--similar image-resizer]... [--namespace team-a] [--cluster prod] [--critical]
    why WORKLOAD | why NAMESPACE/WORKLOAD | why PROPOSAL_ID
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
from tools.propose import SizeRequest
from tools.sizing.vocabulary import KINDS, LANGUAGES, is_dns1123

HELP = """*Sizer* sizes Kubernetes workloads from evidence; a person approves every change.
• `size NAME --rps 50-100 [--language python] [--framework fastapi] [--kind http] \
[--similar SERVICE]... [--namespace NS] [--cluster C] [--critical]` — propose requests and limits
• `why WORKLOAD` (or `NAMESPACE/WORKLOAD`, or a proposal ID) — the stored reasons behind the numbers
• `status PROPOSAL_ID` — where a proposal is and who acted on it
• `resolve PROPOSAL_ID applied|failed|rolled_back [note]` — approvers: close an apply that \
was interrupted by a restart
• `help` — this text
Example: `size items-api --language python --framework fastapi --rps 50-100 --similar \
emailservice --namespace team-a`"""

_RPS = re.compile(r"\A(\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?))?\Z")
_FLAGS_WITH_VALUE = (
    "--language",
    "--framework",
    "--kind",
    "--rps",
    "--similar",
    "--namespace",
    "--cluster",
)
_SWITCHES = ("--critical",)
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
        target = _one(rest, "why", "WORKLOAD, NAMESPACE/WORKLOAD or a proposal ID")
        for part in target.split("/", 1):
            _check_name(part, "why")
        return WhyCommand(target)
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


def parse_rps(text: str) -> tuple[float, float]:
    match = _RPS.match(text.replace(" ", ""))
    if match is None:
        raise CommandError(
            f"--rps {text!r}: give requests per second as a number (80) or a range (50-100)"
        )
    low = float(match[1])
    high = float(match[2]) if match[2] else low
    if high < low:
        raise CommandError(f"--rps {text!r} is reversed; write it low-high, e.g. {high:g}-{low:g}")
    return low, high


def _options(rest: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    positional: list[str] = []
    options: dict[str, list[str]] = {}
    words = iter(rest)
    for word in words:
        if not word.startswith("--"):
            positional.append(word)
            continue
        flag, eq, value = word.partition("=")
        flag = flag.lower()
        if flag in _SWITCHES and not eq:
            options.setdefault(flag, []).append("yes")
        elif flag in _FLAGS_WITH_VALUE:
            if not eq:
                value = next(words, "")
            if not value or value.startswith("--"):
                raise CommandError(f"{flag} needs a value")
            options.setdefault(flag, []).append(value)
        else:
            known = ", ".join((*_FLAGS_WITH_VALUE, *_SWITCHES))
            raise CommandError(f"unknown option {flag}; the options are {known}")
    return positional, options


def _single(options: dict[str, list[str]], flag: str) -> str | None:
    values = options.get(flag, [])
    if len(values) > 1:
        raise CommandError(f"{flag} given {len(values)} times; give it once")
    return values[0] if values else None


def _size(rest: list[str]) -> SizeRequest:
    positional, options = _options(rest)
    if len(positional) != 1:
        raise CommandError(
            "`size` takes one workload name, then options, e.g. `size items-api --rps 50-100`"
        )
    name = positional[0]
    _check_name(name, "the workload name")
    namespace = _single(options, "--namespace") or "default"
    _check_name(namespace, "--namespace")
    language = _single(options, "--language")
    if language is not None and language.lower() not in LANGUAGES:
        raise CommandError(
            f"--language {language!r} is unknown; use one of: {', '.join(LANGUAGES)}"
        )
    kind = (_single(options, "--kind") or "http").lower()
    if kind not in KINDS:
        raise CommandError(f"--kind {kind!r} is unknown; use one of: {', '.join(KINDS)}")
    rps = _single(options, "--rps")
    if rps is None:
        raise CommandError("--rps is required: expected requests per second, e.g. --rps 50-100")
    low, high = parse_rps(rps)
    similar = options.get("--similar", [])
    for peer in similar:
        _check_name(peer, "--similar")
    framework = _single(options, "--framework")
    cluster = _single(options, "--cluster")
    if cluster is not None:
        _check_name(cluster, "--cluster")
    try:
        return SizeRequest(
            name=name,
            namespace=namespace,
            language=language.lower() if language else None,
            framework=framework.lower() if framework else None,
            kind=kind,
            rps_low=low,
            rps_high=high,
            similar=tuple(similar),
            critical="--critical" in options,
            cluster=cluster,
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        field = "--" + str(error["loc"][0]).replace("_", "-") if error["loc"] else "the request"
        raise CommandError(f"{field}: {error['msg']}") from None


def _proposal_id(text: str) -> str:
    if not _PROPOSAL_ID.match(text):
        raise CommandError(
            f"{text!r} is not a proposal ID; they look like p-1a2b3c4d (see the card)"
        )
    return text


def _check_name(name: str, what: str) -> None:
    if not is_dns1123(name):
        raise CommandError(
            f"{what} {name!r} is not a valid Kubernetes name: use 1-63 lower-case letters, "
            "digits and '-', starting and ending with a letter or digit"
        )
