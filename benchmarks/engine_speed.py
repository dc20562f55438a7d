"""Per-service recommendation time once history is loaded (target: under 50 ms).

    python benchmarks/engine_speed.py ../shared/traces/bitbrains-rnd-dev

Times right-sizing every service of the trace from its full history, and cold-start
proposals against the bundled catalog; prints median, p95 and max milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from tools.catalog import load_catalog
from tools.propose import SizeRequest, propose
from tools.sizing import rightsize
from tools.sizing.models import Policy
from tools.traces import load_trace


def summary(label: str, millis: list[float]) -> None:
    ordered = sorted(millis)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    print(
        f"{label:<34} n={len(millis):<5} median {statistics.median(millis):7.2f} ms"
        f"   p95 {p95:7.2f} ms   max {max(millis):7.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("trace", type=Path)
    args = parser.parse_args()
    policy = Policy()
    started = time.perf_counter()
    trace = load_trace(args.trace)
    print(f"loaded {trace.name} in {time.perf_counter() - started:.2f} s")

    timings = []
    for history in trace.usage.values():
        t0 = time.perf_counter()
        rightsize.recommend(history, policy)
        timings.append((time.perf_counter() - t0) * 1000)
    samples = max(h.samples for h in trace.usage.values())
    summary(f"rightsize (up to {samples} samples)", timings)

    catalog = load_catalog()
    timings = []
    for i, language in enumerate(["python", "java", "go", "nodejs", "csharp", None] * 5):
        request = SizeRequest(name=f"svc-{i}", language=language, rps_low=10, rps_high=10 + 10 * i)
        t0 = time.perf_counter()
        propose(request, catalog, policy)
        timings.append((time.perf_counter() - t0) * 1000)
    summary(f"cold-start propose ({len(catalog)} peers)", timings)


if __name__ == "__main__":
    main()
