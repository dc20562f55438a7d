"""One scheduled check: which proposal and revision, which check, and when it falls due.

A check's job id is derived from these (and the Redis prefix), so every replica that
schedules it, and every worker that picks it up, agrees on one job.
"""

from __future__ import annotations

import hashlib

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["CheckSpec", "job_namespace"]


def job_namespace(prefix: str) -> str:
    """A job-id-safe tag of the Redis prefix (rq ids allow only [A-Za-z0-9_-])."""
    return "sizer-" + hashlib.sha256(prefix.encode()).hexdigest()[:10]


class CheckSpec(BaseModel):
    model_config = ConfigDict(frozen=True)

    proposal_id: str = Field(pattern=r"^p-[0-9a-f]{8}$")
    revision: int = Field(ge=1)
    check: str = Field(pattern=r"^(launch|report|watch|day[0-9]{1,2})$")
    applied_at: float
    due_at: float

    @property
    def launch(self) -> bool:
        return self.check in ("launch", "watch")

    def window_s(self, full_s: int = 86_400) -> int:
        """Seconds of usage the check reads: since the apply, at most a day, at least 5 min."""
        since = self.due_at - self.applied_at
        return int(max(300.0, min(since, float(full_s))))

    def job_id(self, prefix: str) -> str:
        return f"{job_namespace(prefix)}-{self.proposal_id}-r{self.revision}-{self.check}"
