"""``sizer serve``: run the Slack bot (Socket Mode by default, ``--http`` for the Events API)."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from types import FrameType
from typing import TYPE_CHECKING

from bot.cli import UsageError

if TYPE_CHECKING:
    from bot.settings import Settings

NAME = "serve"
HELP = "run the Slack bot: Socket Mode by default, or --http to serve /slack/events"


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--http", action="store_true", help="serve the HTTP Events API instead")
    parser.add_argument("--host", default="0.0.0.0", help="HTTP mode: address to bind")
    parser.add_argument("--port", type=int, default=3000, help="HTTP mode: port (default 3000)")
    parser.add_argument(
        "--no-checks",
        action="store_true",
        help="run no check workers here (run `sizer worker` instead)",
    )


def check_prerequisites(settings: Settings) -> None:
    """What serving needs that is not a credential: the Terraform engine, before Slack."""
    from bot.executors.terraform_engine import EngineMissing, check_engine
    from bot.wiring import StartupError

    try:
        check_engine(settings.executor.terraform_bin)
    except EngineMissing as exc:
        raise StartupError(str(exc)) from None


def run(args: argparse.Namespace, settings: Settings) -> int:
    # Imported here: the Slack SDK and Bolt are only needed to serve.
    from bot.slack.runtime import Runtime
    from bot.wiring import Components, StartupError

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    # Installed first: a SIGTERM during start-up still stops cleanly.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    checks = None
    try:
        check_prerequisites(settings)
        runtime = Runtime.create(
            settings, build_responder=Components.agent_responder, http=args.http
        )
        runtime.start(args.host, args.port)
        feedback = settings.feedback
        if feedback.enabled and feedback.workers and not args.no_checks and runtime.parts:
            checks = runtime.parts.check_runner()
            checks.start()
    except StartupError as exc:
        raise UsageError(str(exc)) from None
    stopping.wait()
    if checks is not None:
        checks.stop()
    runtime.stop()
    return 0
