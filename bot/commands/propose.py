"""``sizer propose``: size a new service offline and print the Deployment and the reasons."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli import UsageError
from tools.sizing.vocabulary import KINDS, LANGUAGES, is_dns1123

if TYPE_CHECKING:
    from bot.settings import Settings
    from tools.propose import SizeRequest

NAME = "propose"
HELP = "size a new service from similar services' history and print the proposal"
_RPS = re.compile(r"\A\s*(\d+(?:\.\d+)?)\s*(?:-\s*(\d+(?:\.\d+)?))?\s*\Z")


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", required=True, help="workload name (DNS-1123 label)")
    parser.add_argument("--language", help=f"one of: {', '.join(LANGUAGES)}")
    parser.add_argument("--framework", help="e.g. fastapi, spring-boot, express")
    parser.add_argument("--kind", default="http", help=f"one of: {', '.join(KINDS)}")
    parser.add_argument("--rps", required=True, help="expected requests/s: 80 or a range 50-100")
    parser.add_argument(
        "--similar", action="append", default=[], help="a similar existing service (repeatable)"
    )
    parser.add_argument("--namespace", default="default")
    parser.add_argument("--critical", action="store_true", help="at least 3 replicas")
    parser.add_argument(
        "--history", help="peer history: a trace directory or catalog JSON (default: bundled)"
    )
    parser.add_argument(
        "--strict", action="store_true", help="fail if a --similar service has no history"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of YAML + text")


def parse_rps(text: str) -> tuple[float, float]:
    match = _RPS.match(text)
    if match is None:
        raise UsageError(
            f"--rps {text!r}: give requests per second as a number (80) or a range (50-100)"
        )
    low = float(match[1])
    high = float(match[2]) if match[2] else low
    if high < low:
        raise UsageError(
            f"--rps {text!r}: the range is reversed; write it low-high, e.g. {high:g}-{low:g}"
        )
    return low, high


def build_request(args: argparse.Namespace) -> SizeRequest:
    from pydantic import ValidationError

    from tools.propose import SizeRequest

    if not is_dns1123(args.name):
        raise UsageError(
            f"--name {args.name!r} is not a valid Kubernetes name: use lower-case letters, "
            "digits and '-', starting and ending with a letter or digit, at most 63 characters"
        )
    if args.language is not None and args.language not in LANGUAGES:
        raise UsageError(
            f"--language {args.language!r} is unknown; use one of: {', '.join(LANGUAGES)}"
        )
    if args.kind not in KINDS:
        raise UsageError(f"--kind {args.kind!r} is unknown; use one of: {', '.join(KINDS)}")
    low, high = parse_rps(args.rps)
    try:
        return SizeRequest(
            name=args.name,
            namespace=args.namespace,
            language=args.language,
            framework=args.framework.lower() if args.framework else None,
            kind=args.kind,
            rps_low=low,
            rps_high=high,
            similar=tuple(args.similar),
            critical=args.critical,
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        field = "--" + str(error["loc"][0]).replace("_", "-") if error["loc"] else "input"
        raise UsageError(f"{field}: {error['msg']}") from None


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
    print(deployment_yaml(rec, request.namespace), end="")
    print(f"---\n# Why (confidence {rec.confidence:.2f}, history: {catalog.source})")
    for reason in rec.reasons:
        print(f"# {reason.field}: {reason.text}")
    return 0
