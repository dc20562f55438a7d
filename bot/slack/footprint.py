"""What a revision adds up to: totals, its share of the quota and the cluster, a cost estimate.

Pure arithmetic on the stored revision, so a card re-rendered later shows the same numbers
it was approved with. The cost is an estimate from the unit prices the revision was made with
(a month is 730 hours), never a bill.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.approvals.models import Revision
from tools.sizing.quantities import format_cpu, format_memory, parse_cpu, parse_memory

__all__ = ["HOURS_PER_MONTH", "Footprint", "footprint"]

HOURS_PER_MONTH = 730
GIB = 2**30


@dataclass(frozen=True)
class Footprint:
    cpu: float  # cores requested by all replicas
    memory: float  # bytes requested by all replicas
    quota_cpu_share: float | None
    quota_memory_share: float | None
    cluster_cpu_share: float | None
    cluster_memory_share: float | None
    monthly_cost: float | None

    @property
    def cpu_text(self) -> str:
        """Totals read better in whole units: 34.3 CPU, not 34250m."""
        return f"{format_cpu(self.cpu)} CPU" if self.cpu < 1 else f"{self.cpu:.3g} CPU"

    @property
    def memory_text(self) -> str:
        if self.memory < GIB:
            return format_memory(self.memory)
        return f"{self.memory / GIB:.3g} GiB"


def _share(part: float, whole: float | None) -> float | None:
    return part / whole if whole else None


def footprint(revision: Revision) -> Footprint:
    sizing = revision.sizing
    cpu = sizing.replicas * parse_cpu(sizing.cpu_request)
    memory = float(sizing.replicas * parse_memory(sizing.memory_request))
    fit = revision.change.fit
    prices = revision.prices
    cost = (
        HOURS_PER_MONTH * (cpu * prices.vcpu_hour + memory / GIB * prices.gib_hour)
        if prices is not None
        else None
    )
    return Footprint(
        cpu=cpu,
        memory=memory,
        quota_cpu_share=_share(cpu, fit.quota_cpu) if fit else None,
        quota_memory_share=_share(memory, fit.quota_memory) if fit else None,
        cluster_cpu_share=_share(cpu, fit.cluster_cpu) if fit else None,
        cluster_memory_share=_share(memory, fit.cluster_memory) if fit else None,
        monthly_cost=cost,
    )
