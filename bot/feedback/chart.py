"""The report's chart: a workload's usage over the checked window against request and limit.

matplotlib's object API on the Agg canvas (no pyplot, no global state), as in
:mod:`bot.slack.charts`, so worker threads can draw at the same time.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.feedback.goals import SizeInUse
from tools.sizing.models import UsageHistory

__all__ = ["window_chart"]

_MI = 2**20
MAX_PODS = 8


def window_chart(history: UsageHistory, size: SizeInUse, title: str) -> bytes:
    """CPU (millicores) and memory (MiB) per pod over time, with request and limit lines."""
    figure = Figure(figsize=(9, 3.6), dpi=100)
    FigureCanvasAgg(figure)
    cpu_ax, mem_ax = figure.subplots(1, 2, sharex=True)
    start = history.start
    panels = (
        (cpu_ax, "CPU per pod (millicores)", False, 1000.0, size.cpu_request, size.cpu_limit),
        (mem_ax, "Memory per pod (MiB)", True, 1 / _MI, size.memory_request, size.memory_limit),
    )
    for ax, label, memory, scale, request, limit in panels:
        for pod in history.pods[:MAX_PODS]:
            hours = (pod.timestamps - start) / 3600.0
            values = (pod.memory_bytes if memory else pod.cpu_cores) * scale
            ax.plot(hours, values, linewidth=0.8, label=pod.pod)
        ax.axhline(request * scale, color="tab:green", linestyle="-", label="request")
        if limit is not None:
            ax.axhline(limit * scale, color="tab:red", linestyle="--", label="limit")
        ax.set_title(label, fontsize=9)
        ax.set_xlabel(
            "hours since " + datetime.fromtimestamp(start, UTC).strftime("%m-%d %H:%M UTC"),
            fontsize=8,
        )
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    mem_ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
