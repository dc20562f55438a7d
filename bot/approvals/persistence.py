"""Does Redis keep what Sizer writes across its own restart?

Proposals, the audit trail, locks and accepted requests live only in Redis, so a Redis without
persistence (no AOF, ``save ""``) forgets every one of them when it restarts. Sizer asks Redis
at start-up (``CONFIG GET appendonly`` / ``save``) and warns, or refuses when
``SIZER_REDIS_REQUIRE_PERSISTENCE`` is set. Managed services that disable ``CONFIG`` cannot be
checked; that is said as a warning too.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis import Redis, RedisError

__all__ = ["Persistence", "check_persistence"]


@dataclass(frozen=True)
class Persistence:
    durable: bool  # False only when Redis says it keeps nothing
    problem: str | None  # what to fix, or None when AOF is on


def check_persistence(redis: Redis) -> Persistence:
    try:
        aof = str(redis.config_get("appendonly").get("appendonly", ""))
        save = str(redis.config_get("save").get("save", "")).strip()
    except RedisError as exc:
        return Persistence(
            True, f"cannot check Redis persistence ({exc}); make sure AOF (appendonly yes) is on"
        )
    if aof == "yes":
        return Persistence(True, None)
    if save:
        return Persistence(
            True,
            f"Redis has RDB snapshots only (save {save!r}): writes since the last snapshot are "
            "lost on a crash; turn on appendonly yes",
        )
    return Persistence(
        False,
        "Redis has no persistence (appendonly no, save ''): a Redis restart loses every "
        "proposal, the audit trail and accepted requests; set appendonly yes",
    )
