"""``sizer load-trace TRACE_DIR --prometheus-data DIR``: give Prometheus a real history.

Writes the trace as cAdvisor / kube-state-metrics series and backfills them with promtool (see
:mod:`tools.openmetrics` for the mapping). ``--shift-to-now`` moves the trace so its last
sample falls in the last five minutes. Start Prometheus on DIR with a retention longer than the
data's age, e.g. ``--storage.tsdb.retention.time=50y`` for an unshifted 2013 trace.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli import UsageError
from bot.commands.verify import metric_schema

if TYPE_CHECKING:
    from bot.settings import Settings
    from tools.openmetrics import SizeInForce

NAME = "load-trace"
HELP = "backfill a Prometheus data directory from a trace directory (needs promtool)"


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("trace_dir", metavar="TRACE_DIR", type=Path, help="trace directory")
    parser.add_argument(
        "--prometheus-data",
        required=True,
        type=Path,
        metavar="DIR",
        help="Prometheus --storage.tsdb.path to write blocks into",
    )
    parser.add_argument("--shift-to-now", action="store_true", help="move the trace so it ends now")
    parser.add_argument(
        "--sizes",
        type=Path,
        metavar="FILE",
        help="JSON object: service -> {cpu_request_cores, cpu_limit_cores, "
        "memory_request_bytes, memory_limit_bytes} in force (default: observed limits, no "
        "requests)",
    )
    parser.add_argument("--promtool", default="promtool", help="promtool binary (default: PATH)")


def _sizes(path: Path | None) -> dict[str, SizeInForce]:
    from pydantic import ValidationError

    from tools.openmetrics import SizeInForce

    if path is None:
        return {}
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(body, dict):
            raise UsageError(f"{path}: expected a JSON object of service -> size")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}:{exc.lineno}: not JSON: {exc.msg}") from None
    sizes = {}
    for service, size in body.items():
        try:
            sizes[str(service)] = SizeInForce.model_validate(size)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join([str(service), *map(str, error["loc"])])
            raise UsageError(f"{path}: {where}: {error['msg']}") from None
    return sizes


def run(args: argparse.Namespace, settings: Settings) -> int:
    from tools.backfill import BackfillError, backfill
    from tools.openmetrics import OpenMetricsOptions, shift_to_now
    from tools.traces import TraceError, load_trace

    try:
        trace = load_trace(args.trace_dir)
    except TraceError as exc:
        raise UsageError(str(exc)) from None
    sizes = _sizes(args.sizes)
    shift = shift_to_now(trace, time.time()) if args.shift_to_now else 0
    options = OpenMetricsOptions(metrics=metric_schema(settings), shift_s=shift, sizes=sizes)
    try:
        result = backfill(trace, args.prometheus_data, options, promtool=args.promtool)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    except BackfillError as exc:
        print(f"sizer load-trace: {exc}", file=sys.stderr)
        return 1
    span = (
        time.strftime("%Y-%m-%d %H:%M", time.gmtime(result.start)),
        time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(result.end)),
    )
    print(
        f"{trace.name}: {result.series} series, {result.samples} samples, "
        f"{span[0]} to {span[1]} (shifted {shift / 86400:.2f} days) into {result.data_dir} "
        f"in {result.seconds:.1f} s"
    )
    return 0
