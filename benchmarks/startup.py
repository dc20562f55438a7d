"""Whole-process start-up time of the ``sizer`` command line.

Usage: ``python benchmarks/startup.py [--runs N] [--sizer PATH]``. Runs each command N times
(default 7) as a fresh process and prints the median wall time, the median CPU time of the
child, and the wall time as a ratio to ``python -c pass`` (the interpreter's own start-up),
as a Markdown table. Budgets on a 2-core machine: ``sizer --help`` ≤ 0.4 s and
``sizer propose`` ≤ 1.2 s. It also lists which heavy libraries each command loaded.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

PROPOSE = [
    "propose",
    "--name",
    "items-api",
    "--language",
    "python",
    "--framework",
    "fastapi",
    "--rps",
    "50-100",
    "--similar",
    "recommendationservice",
]
HEAVY = ("langchain", "matplotlib", "kubernetes", "ansible_runner", "slack_bolt", "redis")
_PROBE = (
    "import runpy, sys; sys.argv = {argv!r}; "
    "import atexit; atexit.register(lambda: sys.stderr.write("
    "'\\nLOADED ' + ','.join(m for m in {heavy!r} if m in sys.modules) + '\\n')); "
    "runpy.run_module('bot', run_name='__main__')"
)


def _run(argv: list[str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _loaded(args: list[str]) -> str:
    code = _PROBE.format(argv=["sizer", *args], heavy=HEAVY)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    line = next((x for x in done.stderr.splitlines() if x.startswith("LOADED ")), "LOADED ?")
    return line.removeprefix("LOADED ") or "none"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--sizer", default=str(Path(sys.executable).parent / "sizer"), help="the sizer script"
    )
    args = parser.parse_args()
    cases = {
        "python -c pass": ([sys.executable, "-c", "pass"], None),
        "sizer --help": ([args.sizer, "--help"], ["--help"]),
        "sizer propose …": ([args.sizer, *PROPOSE], PROPOSE),
    }
    rows = []
    baseline = 0.0
    for label, (argv, probe) in cases.items():
        _run(argv)  # warm the page cache and bytecode
        runs = [_run(argv) for _ in range(args.runs)]
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        baseline = baseline or wall
        loaded = _loaded(probe) if probe is not None else "—"
        rows.append((label, wall, cpu, wall / baseline, loaded))
    print(f"{args.runs} runs each, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}\n")
    print("| command | median wall (s) | median CPU (s) | × `python -c pass` | heavy libs loaded |")
    print("|---|---|---|---|---|")
    for label, wall, cpu, ratio, loaded in rows:
        print(f"| `{label}` | {wall:.3f} | {cpu:.3f} | {ratio:.1f} | {loaded} |")


if __name__ == "__main__":
    main()
