"""Exactly-once helpers on Redis: event deduplication and the per-workload apply lock.

Slack redelivers an event it thinks was not acknowledged; ``SET NX`` with a TTL on the
``event_id`` lets the first delivery through and drops the copies, on any replica. The apply
lock keeps two approved proposals for one workload from being applied at the same time; its
value names the proposal holding it so an interrupted apply can be resolved and its lock freed.
The lock lives only a short TTL and is renewed while the apply runs, so a lock that is held
means an apply is alive somewhere, and one that lapsed means its bot died.

A held lock is also a lease the apply checks before every step (:meth:`ApplyLock.check`). The
holder keeps its own deadline — the last renewal Redis confirmed plus the TTL, measured from
before the call — so when Redis stalls or a renewal is refused the apply stops by itself,
without asking Redis, before the lock can have lapsed and another apply started (fail closed).

The lock is per cluster (:func:`~bot.approvals.keys.workload_slot`): the same namespace and name
in two clusters are two workloads, applied independently.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from types import TracebackType

from redis import Redis, RedisError

from bot.approvals.keys import workload_slot
from bot.executors.base import LeaseLost

log = logging.getLogger(__name__)

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""

_RELEASE_FOR = """
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, string.len(ARGV[1]) + 1) == ARGV[1] .. ' ' then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class EventDeduper:
    def __init__(self, redis: Redis, prefix: str, ttl_s: int) -> None:
        self._redis = redis
        self._prefix = prefix
        self._ttl_s = ttl_s

    def first(self, event_id: str) -> bool:
        """True the first time ``event_id`` is seen within the TTL, on any replica."""
        return bool(
            self._redis.set(f"{self._prefix}event:{event_id}", "1", nx=True, ex=self._ttl_s)
        )


class ApplyLock:
    """A held lock and the lease it grants; release it with ``with`` or :meth:`release`."""

    def __init__(
        self,
        locks: WorkloadLocks,
        key: str,
        value: str,
        valid_until: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._locks = locks
        self.key = key
        self.value = value
        self._clock = clock
        self._valid_until = valid_until
        self._lost: str | None = None
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    @property
    def proposal_id(self) -> str:
        return self.value.split(" ", 1)[0]

    def check(self) -> None:
        """Raise :class:`LeaseLost` unless the lock is certainly still ours."""
        self._check_local()
        try:
            still = self._locks.value_of(self.key) == self.value
        except RedisError as exc:
            raise LeaseLost(f"cannot confirm the apply lock: Redis: {exc}") from None
        if not still:
            self._lost = self._lost or "the apply lock was taken over or lapsed"
        self._check_local()

    def _check_local(self) -> None:
        if self._lost is not None:
            raise LeaseLost(self._lost)
        if self._clock() >= self._valid_until:
            raise LeaseLost(
                f"the apply lock could not be renewed within its {self._locks.ttl_s:g}s TTL "
                "(Redis did not answer)"
            )

    def release(self) -> bool:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
        try:
            return self._locks.release(self)
        except RedisError as exc:  # it lapses by itself within its TTL
            log.warning("could not release %s: %s", self.key, exc)
            return False

    def _renew_until_released(self) -> None:
        while not self._stop.wait(self._locks.ttl_s / 3):
            started = self._clock()
            try:
                renewed = self._locks.renew(self)
            except RedisError as exc:
                log.warning("renewing %s failed: %s", self.key, exc)
                continue  # the local deadline runs out if Redis stays away
            if not renewed:
                self._lost = "the apply lock lapsed before it could be renewed"
                log.error("lost %s: %s", self.key, self._lost)
                return
            self._valid_until = started + self._locks.ttl_s

    def __enter__(self) -> ApplyLock:
        self._renewer = threading.Thread(
            target=self._renew_until_released, name=f"lock {self.key}", daemon=True
        )
        self._renewer.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


class WorkloadLocks:
    """``default_cluster`` is where a proposal naming no cluster is applied (same lock)."""

    def __init__(
        self, redis: Redis, prefix: str, ttl_s: float, default_cluster: str | None = None
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self.ttl_s = ttl_s
        self._default = default_cluster
        self._release = redis.register_script(_RELEASE)
        self._renew = redis.register_script(_RENEW)
        self._release_for = redis.register_script(_RELEASE_FOR)

    def _key(self, namespace: str, workload: str, cluster: str | None) -> str:
        return f"{self._prefix}lock:{workload_slot(namespace, workload, cluster, self._default)}"

    def acquire(
        self, namespace: str, workload: str, proposal_id: str, *, cluster: str | None = None
    ) -> ApplyLock | None:
        """The lock, or None if another apply of this workload (in this cluster) holds it."""
        key = self._key(namespace, workload, cluster)
        value = f"{proposal_id} {secrets.token_hex(8)}"
        started = time.monotonic()
        if self._redis.set(key, value, nx=True, px=int(self.ttl_s * 1000)):
            return ApplyLock(self, key, value, started + self.ttl_s)
        return None

    def value_of(self, key: str) -> str | None:
        value = self._redis.get(key)
        if value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)

    def release(self, lock: ApplyLock) -> bool:
        return bool(self._release(keys=[lock.key], args=[lock.value]))

    def renew(self, lock: ApplyLock) -> bool:
        return bool(self._renew(keys=[lock.key], args=[lock.value, int(self.ttl_s * 1000)]))

    def holder(self, namespace: str, workload: str, *, cluster: str | None = None) -> str | None:
        value = self._redis.get(self._key(namespace, workload, cluster))
        if value is None:
            return None
        text = value.decode() if isinstance(value, bytes) else str(value)
        return text.split(" ", 1)[0]

    def release_for(
        self, namespace: str, workload: str, proposal_id: str, *, cluster: str | None = None
    ) -> bool:
        """Free the lock of an interrupted apply, only if that proposal holds it."""
        key = self._key(namespace, workload, cluster)
        return bool(self._release_for(keys=[key], args=[proposal_id]))
