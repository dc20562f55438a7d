"""What "good" means for a size: the thresholds every check, report and loop replay judge by.

Kept in the engine so the closed-loop backtest and the bot's reports share one definition
without the backtest importing the Prometheus client.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Goals"]


class Goals(BaseModel):
    """What "good" means at 24 h; bounded so a typo cannot switch a goal off."""

    model_config = ConfigDict(frozen=True)

    max_abs_slack: float = Field(0.10, gt=0, le=1)
    max_saturated_share: float = Field(0.01, ge=0, le=0.5)
    max_throttled_share: float = Field(0.01, ge=0, le=0.5)

    def requests_fit(self, cpu_slack: float | None, mem_slack: float | None) -> bool:
        """Requests within ``max_abs_slack`` of the p95 of 5-minute usage (none known: no)."""
        slacks = [x for x in (cpu_slack, mem_slack) if x is not None]
        return bool(slacks) and all(abs(x) <= self.max_abs_slack for x in slacks)

    def saturated(self, saturated_share: float, throttled_share: float | None = None) -> bool:
        """CPU at its limit, or throttled, too often (throttling: None where not measured)."""
        return saturated_share >= self.max_saturated_share or (
            throttled_share is not None and throttled_share >= self.max_throttled_share
        )
