"""Scheduling the checks of an applied proposal, and the periodic jobs, as rq jobs.

Every job lives in Redis (rq's scheduled-job registry), so a schedule survives a restart of
every process; rq's scheduler moves due jobs to the queue and its workers run them. Job ids
are derived from proposal, revision and check, and scheduled with ``unique=True``: two bot
replicas scheduling the same check make one job. Periodic jobs (the OOM watch, the peer
refresh) schedule their next run themselves, one job id per time slot.

Keys (under the configured prefix)::

    feedback:applied      hash: proposal id → JSON {revision, applied_at} of the revision running
    feedback:scheduled:*  set once per applied revision, so re-scheduling is a no-op
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from redis import Redis
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError

from bot.approvals.models import Proposal
from bot.feedback.outcomes import OutcomeStore
from bot.feedback.spec import CheckSpec, job_namespace
from bot.settings import FeedbackSettings

__all__ = ["AppliedRevision", "CheckScheduler"]

log = logging.getLogger(__name__)
RUN_CHECK = "bot.feedback.jobs.run_check"
WATCH = "bot.feedback.jobs.watch"
REFRESH_PEERS = "bot.feedback.jobs.refresh_peers"


# Record a proposal's applied revision; any other proposal recorded for the same workload
# (cluster/namespace/name) is superseded: dropped from the record, its successor noted.
_SET = """
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local pid = all[i]
  if pid ~= ARGV[1] then
    local ok, body = pcall(cjson.decode, all[i + 1])
    if ok and body['workload'] == ARGV[3] then
      redis.call('HDEL', KEYS[1], pid)
      redis.call('HSET', KEYS[2], pid, ARGV[1])
    end
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
"""


class AppliedRevision:
    """Which revision of each proposal runs now, for the checks and the watch.

    One proposal per workload: applying a new proposal for a workload supersedes the older
    one, whose remaining checks and watch then stop (they would report on a size that no
    longer runs, next to the new proposal's own reports).
    """

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._key = prefix + "feedback:applied"
        self._superseded = prefix + "feedback:superseded"
        self._set = redis.register_script(_SET)

    def set(self, proposal_id: str, revision: int, at: float, workload: str = "") -> None:
        """``workload`` names what runs (cluster/namespace/name); "" supersedes nothing."""
        body = json.dumps({"revision": revision, "applied_at": at, "workload": workload})
        self._set(
            keys=[self._key, self._superseded],
            args=[proposal_id, body, workload or f"\x00{proposal_id}"],
        )

    def superseded_by(self, proposal_id: str) -> str | None:
        """The proposal applied to the same workload after this one, if any."""
        raw = self._redis.hget(self._superseded, proposal_id)
        return str(raw) if raw else None

    def revision(self, proposal_id: str) -> int | None:
        raw = self._redis.hget(self._key, proposal_id)
        return int(json.loads(str(raw))["revision"]) if raw else None

    def all(self) -> dict[str, tuple[int, float]]:
        out = {}
        for pid, raw in self._redis.hgetall(self._key).items():
            body = json.loads(raw)
            out[str(pid)] = (int(body["revision"]), float(body["applied_at"]))
        return out


class CheckScheduler:
    def __init__(
        self,
        queue: Queue,
        redis: Redis,
        prefix: str,
        settings: FeedbackSettings,
        outcomes: OutcomeStore,
        clock: Callable[[], float],
    ) -> None:
        self.queue = queue
        self._redis = redis
        self._prefix = prefix
        self._settings = settings
        self._outcomes = outcomes
        self._clock = clock
        self.applied_revisions = AppliedRevision(redis, prefix)

    def _retry(self) -> Retry | None:
        s = self._settings
        return Retry(max=s.retries, interval=s.retry_intervals()) if s.retries else None

    def applied(self, proposal: Proposal) -> list[str]:
        """Schedule every check of a newly applied revision; returns the job ids scheduled."""
        at = proposal.updated_at
        workload = f"{proposal.cluster or ''}/{proposal.namespace}/{proposal.workload}"
        self.applied_revisions.set(proposal.id, proposal.revision, at, workload)
        self._outcomes.predicted(proposal, at)
        guard = f"{self._prefix}feedback:scheduled:{proposal.id}:r{proposal.revision}"
        if not self._redis.set(guard, str(at), nx=True):
            return []
        scheduled = []
        for check, offset in self._settings.offsets():
            spec = CheckSpec(
                proposal_id=proposal.id,
                revision=proposal.revision,
                check=check,
                applied_at=at,
                due_at=at + offset,
            )
            if self._enqueue_at(
                spec.due_at, RUN_CHECK, spec.job_id(self._prefix), spec.model_dump()
            ):
                scheduled.append(spec.job_id(self._prefix))
        log.info("scheduled %d checks for %s r%d", len(scheduled), proposal.id, proposal.revision)
        return scheduled

    def schedule_watch(self, slot: int | None = None) -> str:
        """The OOM watch of the next time slot (one job per slot, however many ask)."""
        return self._periodic(WATCH, "watch", self._settings.watch_interval_s, slot)

    def schedule_peer_refresh(self, slot: int | None = None) -> str:
        return self._periodic(REFRESH_PEERS, "peers", self._settings.peers_refresh_s, slot)

    def current_slot(self, name: str) -> int:
        interval = {
            "watch": self._settings.watch_interval_s,
            "peers": self._settings.peers_refresh_s,
        }
        return int(self._clock() // interval[name])

    def _periodic(self, func: str, name: str, interval: int, slot: int | None) -> str:
        slot = int(self._clock() // interval) + 1 if slot is None else slot
        job_id = f"{job_namespace(self._prefix)}-{name}-{slot}"
        self._enqueue_at(float(slot * interval), func, job_id, slot)
        return job_id

    def _enqueue_at(self, when: float, func: str, job_id: str, payload: object) -> bool:
        s = self._settings
        try:
            self.queue.enqueue_at(
                datetime.fromtimestamp(when, UTC),
                func,
                payload,
                job_id=job_id,
                unique=True,
                retry=self._retry(),
                job_timeout=s.job_timeout_s,
                result_ttl=(s.daily_days + 3) * 86_400,
                failure_ttl=30 * 86_400,
            )
        except DuplicateJobError:
            return False
        return True
