"""``sizer propose``: size a new service offline and print the Deployment and the reasons."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli import UsageError
from tools.sizing.vocabulary import KINDS, LANGUAGES

if TYPE_CHECKING:
    from bot.settings import Settings
    from tools.propose import SizeRequest

NAME = "propose"
HELP = "size a new service from similar services' history and print the proposal"


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", required=True, help="workload name (DNS-1123 label)")
    parser.add_argument("--language", help=f"one of: {', '.join(LANGUAGES)}")
    parser.add_argument("--framework", help="e.g. fastapi, spring-boot, express")
    parser.add_argument("--kind", default="http", help=f"one of: {', '.join(KINDS)}")
    parser.add_argument("--rps", help="expected requests/s: 80 or a range 50-100")
    parser.add_argument("--messages", help="a worker's messages/s instead of --rps: 5 or 5-10")
    parser.add_argument("--image", help="container image, e.g. ghcr.io/acme/items-api:1.4.2")
    parser.add_argument("--port", help="container port (default 8080)")
    parser.add_argument("--probe-path", help="HTTP readiness path (default: a TCP check)")
    parser.add_argument(
        "--similar", action="append", default=[], help="a similar existing service (repeatable)"
    )
    parser.add_argument("--namespace", help="namespace of the new service (default: default)")
    parser.add_argument("--critical", action="store_true", help="at least 3 replicas")
    parser.add_argument(
        "--history", help="peer history: a trace directory or catalog JSON (default: bundled)"
    )
    parser.add_argument(
        "--strict", action="store_true", help="fail if a --similar service has no history"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of YAML + text")


def build_request(args: argparse.Namespace) -> SizeRequest:
    """The command line through the same flag reader as ``/sizer size``."""
    from pydantic import ValidationError

    from tools.asking import FlagError, read_flags, request_error
    from tools.propose import SizeRequest

    options: dict[str, list[str]] = {"--name": [args.name], "--kind": [args.kind]}
    for flag, value in (
        ("--language", args.language),
        ("--framework", args.framework),
        ("--rps", args.rps),
        ("--messages", args.messages),
        ("--namespace", args.namespace),
        ("--image", args.image),
        ("--port", args.port),
        ("--probe-path", args.probe_path),
    ):
        if value is not None:
            options[flag] = [value]
    options["--similar"] = list(args.similar)
    if args.critical:
        options["--critical"] = ["yes"]
    try:
        draft = read_flags(options)
    except FlagError as exc:
        raise UsageError(str(exc)) from None
    if "load" in draft.missing():
        raise UsageError("--rps is required (a worker may give --messages 5-10 or none)")
    try:
        return SizeRequest.model_validate(draft.model_dump(exclude={"problems"}, exclude_none=True))
    except ValidationError as exc:
        raise UsageError(request_error(exc, flags=True)) from None


def run(args: argparse.Namespace, settings: Settings) -> int:
    # The engine and the catalog load here, not when the command line is parsed.
    from tools.catalog import load_catalog
    from tools.manifest import deployment_yaml, resources
    from tools.propose import UnknownPeerError, propose, unknown_similar
    from tools.traces import TraceError

    request = build_request(args)
    source = Path(args.history) if args.history else settings.catalog.history_dir
    try:
        catalog = load_catalog(source)
    except (OSError, TraceError, ValueError) as exc:
        raise UsageError(f"cannot read history {source}: {exc}") from None
    misspelt = unknown_similar(request, catalog, misspelt_only=True)
    if misspelt:
        # A typo of a known peer would size from every other peer instead: often 10× off.
        raise UsageError(f"--similar: {'; '.join(misspelt)}")
    try:
        rec = propose(request, catalog, settings.policy, settings.coldstart, strict=args.strict)
    except UnknownPeerError as exc:
        raise UsageError(f"--similar: {exc}") from None
    for note in unknown_similar(request, catalog):
        print(f"sizer propose: note: {note}; sized from the other peers", file=sys.stderr)
    if args.json:
        body = {
            "request": request.model_dump(),
            "recommendation": rec.model_dump(),
            "resources": resources(rec),
            "history": catalog.source,
        }
        print(json.dumps(body, indent=2))
        return 0
    print(
        deployment_yaml(rec, request.namespace, request.image, request.port, request.probe_path),
        end="",
    )
    if request.image:
        print(f"---\n# Image: {request.image}")
    else:
        print("---\n# Image: not set (give --image); a proposal without one is never applied")
    print(f"# Why (confidence {rec.confidence:.2f}, history: {catalog.source})")
    for reason in rec.reasons:
        print(f"# {_reason_line(reason.field, reason.text)}")
    return 0


_LABELS = {
    "cpu_request": "CPU request",
    "cpu_limit": "CPU limit",
    "memory_request": "Memory request",
    "memory_limit": "Memory limit",
}


def _reason_line(field: str, text: str) -> str:
    """``Memory limit: peers peak at …``; a reason that already opens with its number and
    field (``2 replicas: …``, ``confidence 0.31: …``) is not labelled twice."""
    label = _LABELS.get(field)
    if label is None:
        return text[:1].upper() + text[1:]
    return f"{label}: {text}"
