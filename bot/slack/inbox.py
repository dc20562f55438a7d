"""Work Slack was told we accepted, kept in Redis until it is answered.

A mention, a direct message or a slash command is acknowledged within Slack's three seconds,
long before it is answered. So the request is written to Redis *with* the deduplication step —
one Lua script: first delivery of this id? then store the payload and a lease — before the
acknowledgement returns. While a process works on an entry its heartbeat renews the entry's
lease, and it deletes the entry when the reply has been delivered. An entry whose lease ran
out belongs to a process that died (or hung); any replica's sweep claims it, and either
finishes it or, after ``attempts`` tries, tells the person it could not.

Steps of the answer are noted on the entry (the proposal created, the card posted) so a resumed
request posts the existing proposal's card instead of sizing it a second time.

Keys (under the configured prefix)::

    event:{id}   the deduplication marker (shared with :class:`~bot.approvals.locks.EventDeduper`)
    work:{id}    hash: kind, payload (JSON), attempts, and notes such as proposal, card_ts
    work-due     zset: work ids by the time their lease runs out
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from redis import Redis

__all__ = ["Inbox", "Work"]

_ACCEPT = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) == false then return 0 end
redis.call('HSET', KEYS[2], 'kind', ARGV[2], 'payload', ARGV[3], 'attempts', '1')
redis.call('EXPIRE', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[5])
return 1
"""

_CLAIM = """
local due = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not due or tonumber(due) > tonumber(ARGV[2]) then return -1 end
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('ZREM', KEYS[2], ARGV[1]) return -1 end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return redis.call('HINCRBY', KEYS[1], 'attempts', 1)
"""


@dataclass(frozen=True)
class Work:
    id: str
    kind: str
    payload: dict[str, Any]
    attempts: int
    notes: dict[str, str] = field(default_factory=dict)


class Inbox:
    def __init__(
        self,
        redis: Redis,
        prefix: str,
        *,
        dedupe_ttl_s: int,
        lease_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._ttl = dedupe_ttl_s
        self.lease_s = lease_s
        self._clock = clock
        self._accept = redis.register_script(_ACCEPT)
        self._claim = redis.register_script(_CLAIM)
        self._held: set[str] = set()

    def _k(self, *parts: str) -> str:
        return self._prefix + ":".join(parts)

    def accept(self, work_id: str, kind: str, payload: dict[str, Any]) -> bool:
        """Record new work (True), or say it was already accepted (a redelivery: False)."""
        keys = [self._k("event", work_id), self._k("work", work_id), self._k("work-due")]
        args: list[str | float] = [
            self._ttl,
            kind,
            json.dumps(payload),
            self._clock() + self.lease_s,
            work_id,
        ]
        return bool(self._accept(keys=keys, args=args))

    def note(self, work_id: str, **notes: str) -> None:
        """Remember a step of the answer, so a resumed request does not repeat it."""
        key = self._k("work", work_id)
        if self._redis.exists(key):
            self._redis.hset(key, mapping={f"note:{k}": v for k, v in notes.items()})

    def done(self, work_id: str) -> None:
        self._held.discard(work_id)
        self._redis.delete(self._k("work", work_id))
        self._redis.zrem(self._k("work-due"), work_id)

    def due(self) -> list[str]:
        """Ids whose lease ran out: their process died, or they hung."""
        found = self._redis.zrangebyscore(self._k("work-due"), "-inf", self._clock())
        return [v.decode() if isinstance(v, bytes) else str(v) for v in found]

    def claim(self, work_id: str) -> Work | None:
        """Take over a lapsed entry (one replica wins); None if someone else did or it is gone."""
        now = self._clock()
        keys = [self._k("work", work_id), self._k("work-due")]
        attempts = int(self._claim(keys=keys, args=[work_id, now, now + self.lease_s]))
        if attempts < 0:
            return None
        raw = self._redis.hgetall(self._k("work", work_id))
        fields = {_s(k): _s(v) for k, v in raw.items()}
        if "payload" not in fields:
            self.done(work_id)
            return None
        notes = {k.removeprefix("note:"): v for k, v in fields.items() if k.startswith("note:")}
        return Work(work_id, fields["kind"], json.loads(fields["payload"]), attempts, notes)

    def hold(self, work_id: str) -> None:
        """This process is working on ``work_id``: :meth:`renew_held` keeps its lease."""
        self._held.add(work_id)

    def release(self, work_id: str) -> None:
        self._held.discard(work_id)

    def renew_held(self) -> None:
        """Push the lease of everything this process is working on (its heartbeat)."""
        held = list(self._held)
        if held:
            until = self._clock() + self.lease_s
            self._redis.zadd(self._k("work-due"), dict.fromkeys(held, until), xx=True)

    def pending(self) -> int:
        return int(self._redis.zcard(self._k("work-due")))


def _s(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
