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
