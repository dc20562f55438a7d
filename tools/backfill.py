"""Backfilling a Prometheus data directory from a trace with ``promtool``.

The trace is written to a temporary OpenMetrics file (streamed, never held in memory) and
``promtool tsdb create-blocks-from openmetrics`` turns it into TSDB blocks inside the data
directory. Blocks appear in a running Prometheus at its next reload of the directory; start
Prometheus with a retention longer than the trace's age (``--storage.tsdb.retention.time``)
or it deletes old blocks on sight.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from pydantic import BaseModel

from tools.openmetrics import OpenMetricsOptions, write_openmetrics
from tools.traces import Trace

# promtool re-reads the whole input once per block; large blocks keep a 61-day trace to a few
# passes. It picks the largest of its 2h x 3^n ranges not above this (486 h = 20.25 days).
MAX_BLOCK_DURATION = "486h"


class BackfillError(RuntimeError):
    """promtool is missing or refused the input; the message says which and why."""


class BackfillResult(BaseModel):
    data_dir: Path
    shift_s: int
    start: int
    end: int
    series: int
    samples: int
    seconds: float


def find_promtool(promtool: str = "promtool") -> str:
    found = shutil.which(promtool)
    if found is None:
        raise BackfillError(
            f"{promtool} not found: install Prometheus (Debian: apt-get install prometheus)"
        )
    return found


def create_blocks(openmetrics: Path, data_dir: Path, promtool: str = "promtool") -> None:
    """Run promtool on an OpenMetrics file; its last error line becomes a BackfillError."""
    command = [
        find_promtool(promtool),
        "tsdb",
        "create-blocks-from",
        "openmetrics",
        f"--max-block-duration={MAX_BLOCK_DURATION}",
        "--quiet",
        str(openmetrics),
        str(data_dir),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise BackfillError(
            f"promtool failed on {openmetrics.name}: {detail[-1] if detail else done.returncode}"
        )


def backfill(
    trace: Trace,
    data_dir: Path,
    options: OpenMetricsOptions,
    *,
    promtool: str = "promtool",
    work_dir: Path | None = None,
) -> BackfillResult:
    """Write the trace's metrics as TSDB blocks into ``data_dir`` (created if needed)."""
    binary = find_promtool(promtool)
    began = time.monotonic()
    data_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="sizer-om-", dir=work_dir) as tmp:
        text = Path(tmp) / f"{trace.name}.om"
        with text.open("w", encoding="utf-8", buffering=1 << 20) as out:
            summary = write_openmetrics(trace, out, options)
        create_blocks(text, data_dir, binary)
    return BackfillResult(
        data_dir=data_dir,
        shift_s=options.shift_s,
        start=summary.start,
        end=summary.end,
        series=summary.series,
        samples=summary.samples,
        seconds=time.monotonic() - began,
    )


def create_rule_blocks(
    rules: Path,
    url: str,
    start: int,
    end: int,
    output_dir: Path,
    *,
    eval_interval_s: int = 300,
    promtool: str = "promtool",
) -> None:
    """Evaluate recording rules over past data (from a running Prometheus) into new blocks.

    The blocks land in ``output_dir``; move them into the data directory of a stopped
    Prometheus (or wait for a running one to reload) for the recorded series to appear.
    """
    command = [
        find_promtool(promtool),
        "tsdb",
        "create-blocks-from",
        "rules",
        f"--start={start}",
        f"--end={end}",
        f"--url={url}",
        f"--eval-interval={eval_interval_s}s",
        f"--output-dir={output_dir}",
        str(rules),
    ]
    output_dir.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise BackfillError(
            f"promtool failed on {rules.name}: {detail[-1] if detail else done.returncode}"
        )
