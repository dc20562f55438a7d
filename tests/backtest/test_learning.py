"""The learning replay improves cold start where the peers are biased for a group."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bot.cli import main
from tests.backtest.builders import write_trace
from tools.backtest.learning import run_learning
from tools.traces import load_trace

MiB = 2**20


def _biased_trace(tmp: Path) -> Path:
    """16 Go services in two systems launched alternately; "analytics" uses 1.6× the memory
    and CPU of "shop", so peers from both mispredict each system the same way."""
    rng = np.random.default_rng(5)
    services, rows = [], []
    base = 1_700_000_000
    for i in range(16):
        system = "analytics" if i % 2 else "shop"
        name = f"{system[:4]}-{i:02d}"
        services.append(f"{name},{system},go,grpc,grpc,,,{system} service {i}")
        scale = 1.6 if system == "analytics" else 1.0
        start = base + i * 600
        memory = 100 * MiB * scale * rng.uniform(0.9, 1.1)
        cpu = 0.05 * scale * rng.uniform(0.9, 1.1)
        for k in range(8 * 60):
            m = int(memory * (1 + 0.03 * rng.random()))
            c = cpu * (0.8 + 0.4 * rng.random())
            rows.append((name, f"{start + k * 60},{name},{name}-0,{c:.6f},{m},"))
    services.sort()
    rows.sort(key=lambda r: r[0])
    return write_trace(tmp / "two-systems", services, [r for _, r in rows])


def test_learning_from_the_first_half_improves_the_second(tmp_path: Path) -> None:
    result = run_learning(load_trace(_biased_trace(tmp_path)))
    assert len(result.outcomes) == 8 and len(result.services) == 8
    assert result.after.median_mem_error is not None and result.before.median_mem_error
    assert result.after.median_mem_error < 0.6 * result.before.median_mem_error
    assert result.after.median_cpu_error is not None and result.before.median_cpu_error
    assert result.after.median_cpu_error < result.before.median_cpu_error
    assert (result.after.zero_oom_share or 0) >= (result.before.zero_oom_share or 0)
    assert any("namespace analytics here used 1." in note for note in result.factors)


def test_learning_mode_from_the_command_line(tmp_path: Path) -> None:
    out = tmp_path / "learning.json"
    trace = str(_biased_trace(tmp_path))
    assert main(["backtest", trace, "--mode", "learning", "--json", str(out)]) == 0
    assert '"before"' in out.read_text() and '"outcomes"' in out.read_text()
