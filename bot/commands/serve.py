"""``sizer serve``: run the Slack bot (Socket Mode by default, ``--http`` for the Events API)."""

from __future__ import annotations

import argparse
import signal
from collections.abc import Callable
from types import FrameType

from bot.cli import UsageError
from bot.executors.base import Executor
from bot.observability.logs import configure_logging, secret_values
from bot.service import ProposalService
from bot.settings import Settings
from bot.slack.responder import Responder
from bot.slack.runtime import Runtime, StartupError

NAME = "serve"
HELP = "run the Slack bot: Socket Mode by default, or --http to serve /slack/events"


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--http", action="store_true", help="serve the HTTP Events API instead")
    parser.add_argument("--host", default="0.0.0.0", help="HTTP mode: address to bind")
    parser.add_argument("--port", type=int, default=3000, help="HTTP mode: port (default 3000)")


def _executor(settings: Settings) -> Executor:
    # Imported here: the executors pull in the cluster clients, which only serving needs.
    from bot.executors import build_executor

    return build_executor(settings)


def _responder(settings: Settings) -> Callable[[ProposalService], Responder]:
    """Free text in mentions and DMs goes to the agent: the LLM when one is configured,
    the built-in planner otherwise."""
    from bot.agent_wiring import responder_for

    return lambda service: responder_for(settings, service)


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        configure_logging(settings.log_format, settings.log_level, secret_values(settings))
        runtime = Runtime.create(
            settings, build_executor=_executor, build_responder=_responder(settings), http=args.http
        )
        runtime.start(args.host, args.port)
    except StartupError as exc:
        raise UsageError(str(exc)) from None

    def stop(signum: int, frame: FrameType | None) -> None:
        runtime.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    runtime.wait()
    return 0
