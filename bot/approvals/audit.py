"""The audit trail: an append-only Redis stream of every transition and every refused click.

Transitions are appended by the store's Lua script in the same atomic step that changes the
state, so the stream can never disagree with the proposals. Nothing here trims or deletes.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict
from redis import Redis

FIELDS = (
    "event",
    "proposal",
    "revision",
    "workload",
    "namespace",
    "from",
    "to",
    "actor",
    "at",
    "sha256",
    "reason",
    "cluster",
)


class AuditEntry(BaseModel):
    """One line of the trail: who did what to which revision, when, and why."""

    model_config = ConfigDict(frozen=True)

    id: str = ""
    event: str  # "transition" or "denied" (an unauthorised or refused click)
    proposal: str
    revision: int
    workload: str
    namespace: str
    from_state: str
    to_state: str
    actor: str
    at: str
    sha256: str
    reason: str
    cluster: str = ""  # empty: the only cluster

    def fields(self) -> list[str]:
        """Flat field/value list in :data:`FIELDS` order, for XADD."""
        values = (
            self.event,
            self.proposal,
            str(self.revision),
            self.workload,
            self.namespace,
            self.from_state,
            self.to_state,
            self.actor,
            self.at,
            self.sha256,
            self.reason,
            self.cluster,
        )
        out: list[str] = []
        for name, value in zip(FIELDS, values, strict=True):
            out += [name, value]
        return out

    @classmethod
    def from_stream(cls, entry_id: str, raw: dict[str, str]) -> AuditEntry:
        return cls(
            id=entry_id,
            event=raw.get("event", ""),
            proposal=raw.get("proposal", ""),
            revision=int(raw.get("revision", "0")),
            workload=raw.get("workload", ""),
            namespace=raw.get("namespace", ""),
            from_state=raw.get("from", ""),
            to_state=raw.get("to", ""),
            actor=raw.get("actor", ""),
            at=raw.get("at", ""),
            sha256=raw.get("sha256", ""),
            reason=raw.get("reason", ""),
            cluster=raw.get("cluster", ""),
        )

    def line(self) -> str:
        move = self.to_state if self.from_state == "" else f"{self.from_state} → {self.to_state}"
        if self.event != "transition":
            move = f"{self.event} ({self.from_state})"
        where = f"{self.namespace}/{self.workload}" + (f"@{self.cluster}" if self.cluster else "")
        return (
            f"{self.at}  {where}  {self.proposal} r{self.revision}  "
            f"{move}  by {self.actor}  sha256:{self.sha256[:12]}  {self.reason}"
        )


def now_iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")


class AuditLog:
    """Reads (and, for refusals, appends to) the stream at ``{prefix}audit``."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self.key = f"{prefix}audit"

    def append(self, entry: AuditEntry) -> str:
        fields = entry.fields()
        mapping = dict(zip(fields[::2], fields[1::2], strict=True))
        return str(self._redis.xadd(self.key, mapping))  # type: ignore[arg-type]

    def entries(
        self, workload: str | None = None, proposal: str | None = None, batch: int = 500
    ) -> Iterator[AuditEntry]:
        """Oldest first; ``workload`` matches ``name`` or ``namespace/name``."""
        start = "-"
        while True:
            chunk = self._redis.xrange(self.key, min=start, max="+", count=batch)
            if not chunk:
                return
            for entry_id, raw in chunk:
                fields = {str(_s(k)): str(_s(v)) for k, v in (raw or {}).items()}
                entry = AuditEntry.from_stream(str(_s(entry_id)), fields)
                if _matches(entry, workload, proposal):
                    yield entry
            start = "(" + str(_s(chunk[-1][0]))
            if len(chunk) < batch:
                return


def _matches(entry: AuditEntry, workload: str | None, proposal: str | None) -> bool:
    if proposal is not None and entry.proposal != proposal:
        return False
    if workload is None:
        return True
    return workload in (entry.workload, f"{entry.namespace}/{entry.workload}")


def _s(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
