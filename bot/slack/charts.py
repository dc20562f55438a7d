"""PNG charts for "why" answers: peers' usage percentiles against the proposed lines.

Drawn with matplotlib's object API on the Agg canvas (no pyplot, no global state), so
worker threads can render charts concurrently.
"""

from __future__ import annotations

import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.approvals.models import Proposal
from tools.sizing.profiles import PeerProfile
from tools.sizing.quantities import parse_cpu, parse_memory

_MI = 2**20


def usage_chart(
    proposal: Proposal, peers: list[PeerProfile], own: PeerProfile | None = None
) -> bytes | None:
    """CPU and memory per pod (p50, p95, max) with the request and limit lines.

    ``own`` is the workload's own recent usage (drawn first) once it runs; the peers named in
    the reasons follow. None when there is nothing to compare against.
    """
    if not peers and own is None:
        return None
    peers = sorted(peers, key=lambda p: p.meta.name)[:12]
    if own is not None:
        peers = [
            own.model_copy(
                update={
                    "meta": own.meta.model_copy(
                        update={"name": f"{proposal.workload} (own, {own.hours:.0f} h)"}
                    )
                }
            ),
            *peers[:11],
        ]
    sizing = proposal.current.sizing
    figure = Figure(figsize=(8, 3.6), dpi=100)
    FigureCanvasAgg(figure)
    cpu_ax, mem_ax = figure.subplots(1, 2)
    names = [p.meta.name for p in peers]
    xs = list(range(len(peers)))
    panels = (
        (
            cpu_ax,
            "CPU per pod (millicores)",
            [[p.cpu_p50 * 1000, p.cpu_p95 * 1000, p.cpu_max * 1000] for p in peers],
            parse_cpu(sizing.cpu_request) * 1000,
            parse_cpu(sizing.cpu_limit) * 1000 if sizing.cpu_limit else None,
        ),
        (
            mem_ax,
            "Memory per pod (MiB)",
            [[p.mem_p50 / _MI, p.mem_p95 / _MI, p.mem_max / _MI] for p in peers],
            parse_memory(sizing.memory_request) / _MI,
            parse_memory(sizing.memory_limit) / _MI if sizing.memory_limit else None,
        ),
    )
    for ax, title, values, request, limit in panels:
        for index, (label, marker) in enumerate((("p50", "o"), ("p95", "s"), ("max", "^"))):
            ax.scatter(xs, [v[index] for v in values], marker=marker, label=label, zorder=3)
        ax.axhline(request, color="tab:green", linestyle="-", label="proposed request")
        if limit is not None:
            ax.axhline(limit, color="tab:red", linestyle="--", label="proposed limit")
        ax.set_title(title, fontsize=9)
        ax.set_xticks(xs, names, rotation=35, ha="right", fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
        ax.grid(axis="y", alpha=0.3)
    mem_ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    figure.suptitle(
        f"{proposal.workload}: {'its own and ' if own else ''}peers' usage vs sizes "
        f"(revision {proposal.revision})",
        fontsize=10,
    )
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
