"""``sizer audit [WORKLOAD]``: print the audit trail, oldest first."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from bot.cli import UsageError

if TYPE_CHECKING:
    import redis as redis_lib

    from bot.settings import Settings

NAME = "audit"
HELP = "print the audit trail of proposals (all, or one workload's)"


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("workload", nargs="?", help="NAME or NAMESPACE/NAME")
    parser.add_argument("--proposal", help="only this proposal ID")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")


def run(args: argparse.Namespace, settings: Settings, redis: redis_lib.Redis | None = None) -> int:
    from bot.approvals.audit import AuditLog
    from bot.wiring import StartupError, connect_redis

    try:
        client = redis or connect_redis(settings.redis.url)
    except StartupError as exc:
        raise UsageError(str(exc)) from None
    entries = AuditLog(client, settings.redis.prefix).entries(args.workload, args.proposal)
    count = 0
    for entry in entries:
        count += 1
        print(entry.model_dump_json() if args.json else entry.line())
    if count == 0 and not args.json:
        print("no audit entries" + (f" for {args.workload}" if args.workload else ""))
    return 0
