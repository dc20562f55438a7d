"""``sizer verify WORKLOAD``: how a deployed workload's size holds up against the goals.

Reads ``PROMETHEUS_URL``; prints requests and limits in force, usage, slack, OOM kills, restarts,
throttling and the verdict (``--json`` for the full model). Exit status: 0 when the goals are
met, 1 when not met, unknown, or Prometheus could not answer (one line saying why), 2 for bad
input.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import time
from typing import TYPE_CHECKING

from bot.cli import UsageError
from tools.sizing.vocabulary import check_dns1123

if TYPE_CHECKING:
    from bot.settings import Settings
    from tools.prometheus import MetricSchema
    from tools.verify import Verification

NAME = "verify"
HELP = "check a deployed workload's requests and limits against its real usage (Prometheus)"

_DURATION = re.compile(r"\A(\d+)([mhd])\Z")
_UNIT_S = {"m": 60, "h": 3600, "d": 86400}
MAX_SINCE_S = 90 * 86400


def metric_schema(settings: Settings) -> MetricSchema:
    """The metric and label names of this cluster, from the settings."""
    from pydantic import ValidationError

    try:
        return _schema(settings)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise UsageError(f"setting {error['loc'][0]}: {error['msg']}") from None


def _schema(settings: Settings) -> MetricSchema:
    return settings.prometheus.metric_schema()


def parse_duration(text: str) -> int:
    """``30m``, ``24h``, ``7d`` as seconds (5 minutes to 90 days)."""
    match = _DURATION.match(text.strip())
    if not match:
        raise UsageError(f"--since {text!r}: use a number and m, h or d, e.g. 24h")
    seconds = int(match.group(1)) * _UNIT_S[match.group(2)]
    if not 300 <= seconds <= MAX_SINCE_S:
        raise UsageError(f"--since {text!r}: must be between 5m and 90d")
    return seconds


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("workload", metavar="WORKLOAD", help="deployment / container name")
    parser.add_argument("--namespace", "-n", help="default: the one namespace it runs in")
    parser.add_argument("--since", default="24h", help="window ending now (default 24h)")
    parser.add_argument(
        "--at",
        type=_unix_seconds,
        metavar="UNIX_SECONDS",
        help="end of the window, Unix seconds (default now)",
    )
    parser.add_argument("--json", action="store_true", help="print the verification as JSON")


def _quantity(value: float | None, unit: str) -> str:
    if value is None:
        return "not set"
    return f"{value * 1000:.0f}m" if unit == "cpu" else f"{value / 2**20:.0f}Mi"


def render(v: Verification) -> str:
    """Plain text for the terminal; the Slack report renders the same model."""
    f = v.in_force
    lines = [
        f"{v.workload.namespace}/{v.workload.name}: goals {v.verdict.upper()} "
        f"({v.pods} pod(s), {v.samples} samples, {(v.end - v.start) / 3600:.1f} h)",
        f"  in force  cpu {_quantity(f.cpu_request_cores, 'cpu')} / "
        f"{_quantity(f.cpu_limit_cores, 'cpu')}, memory "
        f"{_quantity(f.memory_request_bytes, 'mem')} / {_quantity(f.memory_limit_bytes, 'mem')}"
        " (request / limit)",
        f"  cpu       p50 {v.cpu.p50 * 1000:.1f}m  p95 {v.cpu.p95 * 1000:.1f}m  "
        f"max {v.cpu.max * 1000:.1f}m",
        f"  memory    p50 {v.memory.p50 / 2**20:.1f}Mi  p95 {v.memory.p95 / 2**20:.1f}Mi  "
        f"max {v.memory.max / 2**20:.1f}Mi",
        f"  events    {v.oom_kills} OOM kill(s), {v.restarts} restart(s); throttled "
        + (f"{v.throttled_share:.1%}" if v.throttled_share is not None else str(v.throttling_note)),
    ]
    lines += [f"  [{c.status}] {c.goal}: {c.detail}" for c in v.checks]
    lines += [f"  note: {n}" for n in v.notes]
    return "\n".join(lines)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from tools.prometheus import PrometheusClient, PrometheusError, Workload
    from tools.verify import find_namespace, verify_workload

    since = parse_duration(args.since)
    try:
        name = check_dns1123(args.workload)
        namespace = check_dns1123(args.namespace) if args.namespace else None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    prometheus = settings.prometheus
    target = prometheus.target()
    if target is None:
        raise UsageError("PROMETHEUS_URL is not set: point it at the cluster's Prometheus")
    at = args.at if args.at is not None else time.time()
    try:
        with PrometheusClient(target, timeout_s=prometheus.timeout_s) as client:
            namespace = namespace or find_namespace(client, name, since, at)
            result = verify_workload(
                client,
                metric_schema(settings),
                Workload(name=name, namespace=namespace),
                since,
                at,
            )
    except PrometheusError as exc:
        print(f"sizer verify: {exc}", file=sys.stderr)
        return 1
    print(result.model_dump_json(indent=1) if args.json else render(result))
    return 0 if result.verdict == "met" else 1


def _unix_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"give Unix seconds, e.g. {int(time.time()) - 3600} for an hour ago (got {text!r})"
        ) from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"give Unix seconds after 1970 (got {text!r})")
    return value
