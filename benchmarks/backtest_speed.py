"""Time the whole backtest (trace load + sizing + scoring) of a trace directory.

Usage: ``python benchmarks/backtest_speed.py TRACE_DIR [--mode rightsize|cold-start|both]
[--repeat N]``. Prints seconds per phase; the benchmark's budget is 60 s for a 100-service,
60-day trace on 2 cores.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from tools.backtest.results import MODES
from tools.backtest.runner import run_backtest
from tools.traces import load_trace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trace_dir", type=Path)
    parser.add_argument("--mode", choices=(*MODES, "both"), default="both")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    modes = MODES if args.mode == "both" else (args.mode,)
    for _ in range(args.repeat):
        start = time.perf_counter()
        trace = load_trace(args.trace_dir)
        loaded = time.perf_counter() - start
        samples = sum(u.samples for u in trace.usage.values())
        print(f"{trace.name}: load {loaded:.2f} s ({len(trace.usage)} services, {samples} rows)")
        for mode in modes:
            begin = time.perf_counter()
            result = run_backtest(trace, mode)
            compute = time.perf_counter() - begin
            print(
                f"{trace.name} {mode}: compute {compute:.2f} s, load + compute "
                f"{loaded + compute:.2f} s ({len(result.services)} scored, "
                f"{len(result.skipped)} skipped)"
            )


if __name__ == "__main__":
    main()
