"""``sizer worker``: run the checks alone — rq's scheduler and check workers, no Slack listener.

For larger installs: as many ``sizer worker`` processes as needed next to ``sizer serve
--no-checks``, all on the same Redis. ``--burst`` runs what is due and exits (cron, tests).
"""

from __future__ import annotations

import argparse
import logging
import signal
from types import FrameType
from typing import TYPE_CHECKING

from bot.cli import UsageError

if TYPE_CHECKING:
    from bot.observability.probes import ProbeServer
    from bot.settings import Settings
    from bot.wiring import Components

NAME = "worker"
HELP = "run the scheduled checks, the OOM watch and the peer refresh (rq scheduler and workers)"


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host",
        default="0.0.0.0",
        help="address of /healthz, /readyz, /metrics (SIZER_HEALTH_PORT)",
    )
    parser.add_argument(
        "--workers", type=int, help="check workers in this process (default SIZER_CHECK_WORKERS)"
    )
    parser.add_argument("--burst", action="store_true", help="run the jobs due now, then exit")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.wiring import Components, StartupError

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if args.workers is not None and not 1 <= args.workers <= 16:
        raise UsageError(f"--workers {args.workers}: give 1 to 16")
    if settings.slack.bot_token is None:
        raise UsageError("SLACK_BOT_TOKEN is not set: reports go to the proposals' Slack threads")
    parts = Components(settings)
    try:
        parts.redis  # noqa: B018 -- a bad REDIS_URL stops start-up with one line
        if args.burst:
            from bot.feedback.worker import CheckWorker

            worker = CheckWorker(
                [parts.check_queue], connection=parts.rq_redis, runtime=parts.feedback_runtime
            )
            worker.work(burst=True, with_scheduler=True)
            return 0
        runner = parts.check_runner(max(args.workers or settings.feedback.workers, 1))
        probes = _probe_server(settings, parts, args.host)
    except StartupError as exc:
        raise UsageError(str(exc)) from None
    runner.start()
    probes.start()
    logging.getLogger(__name__).info(
        "serving /healthz, /readyz, /metrics on %s:%d", args.host, probes.port
    )

    def stop(signum: int, frame: FrameType | None) -> None:
        runner.stop()
        probes.shutdown()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.pause()
    return 0


def _probe_server(settings: Settings, parts: Components, host: str) -> ProbeServer:
    """The same health endpoints as ``sizer serve``, so the worker's pods can be probed."""
    from bot.observability.probes import Probes, ProbeServer
    from bot.observability.readiness import Readiness
    from bot.wiring import StartupError

    port = settings.runtime.health_port
    try:
        return ProbeServer(Probes(Readiness.from_settings(settings, parts.redis)), host, port)
    except OSError as exc:
        raise StartupError(f"SIZER_HEALTH_PORT {port} on {host}: {exc.strerror}") from None
