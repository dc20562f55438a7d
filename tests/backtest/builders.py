"""Small synthetic series and trace directories for the backtest tests."""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tools.sizing.models import PodSeries, ServiceMeta, UsageHistory


def pod(
    name: str,
    timestamps: Sequence[int],
    cpu: Sequence[float],
    memory: Sequence[float],
    rps: Sequence[float] | None = None,
) -> PodSeries:
    n = len(timestamps)
    return PodSeries(
        name,
        np.asarray(timestamps, dtype=np.int64),
        np.asarray(cpu, dtype=np.float64),
        np.asarray(memory, dtype=np.float64),
        np.asarray(rps if rps is not None else [np.nan] * n, dtype=np.float64),
    )


def history(
    service: str,
    *pods: PodSeries,
    interval_s: int = 60,
    meta: ServiceMeta | None = None,
) -> UsageHistory:
    return UsageHistory(service, tuple(pods), interval_s, meta or ServiceMeta(name=service))


def constant(
    service: str,
    *,
    samples: int,
    cpu: float,
    memory: float,
    interval_s: int = 60,
    start: int = 0,
    rps: float | None = None,
    meta: ServiceMeta | None = None,
) -> UsageHistory:
    stamps = [start + i * interval_s for i in range(samples)]
    return history(
        service,
        pod(
            f"{service}-0",
            stamps,
            [cpu] * samples,
            [memory] * samples,
            None if rps is None else [rps] * samples,
        ),
        interval_s=interval_s,
        meta=meta,
    )


SERVICES_HEADER = (
    "service,system,language,framework,kind,observed_cpu_limit_cores,"
    "observed_memory_limit_bytes,description\n"
)
USAGE_HEADER = "timestamp,service,pod,cpu_cores,memory_bytes,rps\n"
EVENTS_HEADER = "timestamp,service,pod,kind,detail\n"


def write_trace(
    directory: Path,
    services: Sequence[str],
    usage_rows: Sequence[str],
    events: Sequence[str] = (),
) -> Path:
    """Write a trace directory from raw CSV lines (without headers)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "services.csv").write_text(
        SERVICES_HEADER + "".join(line + "\n" for line in services), encoding="utf-8"
    )
    with gzip.open(directory / "usage.csv.gz", "wt", encoding="utf-8", newline="") as out:
        out.write(USAGE_HEADER + "".join(line + "\n" for line in usage_rows))
    (directory / "events.csv").write_text(
        EVENTS_HEADER + "".join(line + "\n" for line in events), encoding="utf-8"
    )
    (directory / "PROVENANCE.md").write_text("synthetic test trace\n", encoding="utf-8")
    return directory
