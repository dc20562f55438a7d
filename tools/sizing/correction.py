"""A correction of the peers' prediction learnt from outcomes, as cold start applies it.

Factors multiply what the peers predict (CPU at the expected load, p95 memory, peak memory);
1.0 means "no correction". Each note is one sentence for the reasons, naming the group the
factor was learnt on and how many outcomes it rests on.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["NO_CORRECTION", "Correction"]


@dataclass(frozen=True)
class Correction:
    cpu: float = 1.0
    memory: float = 1.0
    peak: float = 1.0
    cpu_notes: tuple[str, ...] = ()
    memory_notes: tuple[str, ...] = ()

    @property
    def applies(self) -> bool:
        return (self.cpu, self.memory, self.peak) != (1.0, 1.0, 1.0)


NO_CORRECTION = Correction()
