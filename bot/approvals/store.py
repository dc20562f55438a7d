"""Proposals in Redis, moved between states only by compare-and-set.

Every transition is one Lua script: it checks the state and revision the caller last saw,
writes the new proposal, maintains the indexes and appends the audit entry, all atomically.
Two clicks, two bot replicas or a Slack retry therefore cannot both win: the loser gets
:class:`TransitionConflict` with the state that beat it.

Keys (all under the configured prefix)::

    proposal:{id}        hash: state, revision, body (JSON), message_ts
    state:{state}        set of proposal ids
    expiry               zset: proposed ids by expiry time (kept on every move into proposed)
    workload:{slot}      hash: latest, applied (proposal ids), applied_since (its apply start)
    reported:{id}        an interrupted apply was reported (once)
    names:{name}         set of {ns} / {ns}@{cluster}: where a workload of that name lives
    user:{id}            zset: a requester's proposals by creation time
    editing:{id}:{rev}   who is saving the revision after {rev} (expires on its own)
    audit                the stream (see :mod:`bot.approvals.audit`)

A workload's slot is ``{ns}/{name}`` on the default cluster and ``{ns}/{name}@{cluster}`` on
any other (:mod:`bot.approvals.keys`), so two clusters never overwrite each other's pointer.
"""

from __future__ import annotations

from collections.abc import Iterable

from redis import Redis

from bot.approvals.audit import AuditEntry, AuditLog, now_iso
from bot.approvals.keys import split_member, workload_member, workload_slot
from bot.approvals.models import Proposal, ProposalState, allowed
from bot.observability.metrics import TRANSITIONS

_CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return {'exists', '', ''} end
redis.call('HSET', KEYS[1], 'state', ARGV[1], 'revision', ARGV[2], 'body', ARGV[3])
redis.call('SADD', KEYS[3], ARGV[4])
redis.call('ZADD', KEYS[4], ARGV[5], ARGV[4])
redis.call('HSET', KEYS[5], 'latest', ARGV[4])
redis.call('SADD', KEYS[6], ARGV[7])
redis.call('ZADD', KEYS[7], ARGV[6], ARGV[4])
local fields = {}
for i = 8, #ARGV do fields[#fields + 1] = ARGV[i] end
local entry = redis.call('XADD', KEYS[2], '*', unpack(fields))
return {'ok', ARGV[1], entry}
"""

_TRANSITION = """
local cur = redis.call('HMGET', KEYS[1], 'state', 'revision')
if not cur[1] then return {'missing', '', ''} end
if cur[1] ~= ARGV[1] or cur[2] ~= ARGV[2] then return {'conflict', cur[1], cur[2]} end
redis.call('HSET', KEYS[1], 'state', ARGV[3], 'revision', ARGV[4], 'body', ARGV[5])
redis.call('SREM', KEYS[3], ARGV[6])
redis.call('SADD', KEYS[4], ARGV[6])
if ARGV[3] == 'proposed' then
  redis.call('ZADD', KEYS[5], ARGV[8], ARGV[6])
else
  redis.call('ZREM', KEYS[5], ARGV[6])
end
if ARGV[3] == 'applied' then
  local since = tonumber(redis.call('HGET', KEYS[6], 'applied_since') or '-1')
  if tonumber(ARGV[7]) > since then
    redis.call('HSET', KEYS[6], 'applied', ARGV[6], 'applied_since', ARGV[7])
  end
end
local fields = {}
for i = 9, #ARGV do fields[#fields + 1] = ARGV[i] end
local entry = redis.call('XADD', KEYS[2], '*', unpack(fields))
return {'ok', ARGV[3], entry}
"""


class StoreError(Exception):
    """Base of the store's errors."""


class ProposalExists(StoreError):
    pass


class ProposalMissing(StoreError):
    pass


class IllegalTransition(StoreError):
    """The state machine has no such move (a programming error, never a race)."""


class TransitionConflict(StoreError):
    """Someone else moved the proposal first; ``state``/``revision`` are what they left."""

    def __init__(self, proposal_id: str, state: ProposalState, revision: int) -> None:
        super().__init__(f"{proposal_id} is now {state} at revision {revision}")
        self.state = state
        self.revision = revision


class ProposalStore:
    """``default_cluster`` is where proposals naming no cluster go (its slots have no suffix)."""

    def __init__(self, redis: Redis, prefix: str, default_cluster: str | None = None) -> None:
        self._redis = redis
        self._prefix = prefix
        self._default = default_cluster
        self.audit = AuditLog(redis, prefix)
        self._create = redis.register_script(_CREATE)
        self._transition = redis.register_script(_TRANSITION)

    def _k(self, *parts: str) -> str:
        return self._prefix + ":".join(parts)

    def _workload(self, proposal: Proposal) -> str:
        slot = workload_slot(proposal.namespace, proposal.workload, proposal.cluster, self._default)
        return self._k("workload", slot)

    def create(self, proposal: Proposal, reason: str) -> Proposal:
        """Store a new proposal in ``proposed`` and audit it."""
        entry = _entry(proposal, "", reason)
        keys = [
            self._k("proposal", proposal.id),
            self.audit.key,
            self._k("state", proposal.state.value),
            self._k("expiry"),
            self._workload(proposal),
            self._k("names", proposal.workload),
            self._k("user", proposal.requester),
        ]
        args: list[str | float] = [
            proposal.state.value,
            str(proposal.revision),
            _body(proposal),
            proposal.id,
            proposal.expires_at,
            proposal.created_at,
            workload_member(proposal.namespace, proposal.cluster, self._default),
            *entry.fields(),
        ]
        status, _, _ = _strs(self._create(keys=keys, args=args))
        if status == "exists":
            raise ProposalExists(proposal.id)
        TRANSITIONS.labels(proposal.state.value).inc()
        return proposal

    def transition(self, seen: Proposal, new: Proposal, reason: str) -> Proposal:
        """Replace ``seen`` by ``new`` if nobody moved it since ``seen`` was read."""
        if new.id != seen.id or not allowed(seen.state, new.state):
            raise IllegalTransition(f"{seen.id}: {seen.state} → {new.state}")
        entry = _entry(new, seen.state.value, reason)
        keys = [
            self._k("proposal", seen.id),
            self.audit.key,
            self._k("state", seen.state.value),
            self._k("state", new.state.value),
            self._k("expiry"),
            self._workload(seen),
        ]
        args = [
            seen.state.value,
            str(seen.revision),
            new.state.value,
            str(new.revision),
            _body(new),
            seen.id,
            # When this apply started: the workload points at the newest apply, so resolving
            # an old interrupted one later never makes it the workload's applied proposal.
            repr(seen.updated_at),
            # Into proposed (an edit, or a check's new revision of an applied proposal): the
            # expiry sweep must see it, at the expiry the new proposal carries.
            repr(new.expires_at),
            *entry.fields(),
        ]
        status, state, revision = _strs(self._transition(keys=keys, args=args))
        if status == "missing":
            raise ProposalMissing(seen.id)
        if status == "conflict":
            raise TransitionConflict(seen.id, ProposalState(state), int(revision))
        TRANSITIONS.labels(new.state.value).inc()
        return new.model_copy(update={"message_ts": seen.message_ts})

    def deny(self, proposal: Proposal, actor: str, reason: str, at: float) -> None:
        """Audit a click that was refused (unauthorised, stale, hash mismatch)."""
        entry = _entry(proposal, proposal.state.value, reason).model_copy(
            update={"event": "denied", "actor": actor, "at": now_iso(at)}
        )
        self.audit.append(entry)

    def first_report(self, proposal_id: str, ttl_s: int = 30 * 86_400) -> bool:
        """True the first time an interrupted apply of ``proposal_id`` is to be reported."""
        return bool(self._redis.set(self._k("reported", proposal_id), "1", nx=True, ex=ttl_s))

    def forget_report(self, proposal_id: str) -> None:
        """The report could not be delivered: let the next sweep try again."""
        self._redis.delete(self._k("reported", proposal_id))

    def claim_edit(self, proposal_id: str, revision: int, actor: str, ttl_s: float) -> str:
        """Reserve the next revision of a proposal for ``actor``'s edit; returns the holder.

        The first edit submitted on a revision wins; a second one sees the first's author and
        is refused in its form, so two people never race to save the same revision number.
        """
        key = self._k("editing", proposal_id, str(revision))
        self._redis.set(key, actor, nx=True, px=max(1, int(ttl_s * 1000)))
        holder = self._redis.get(key)
        return _s(holder) if holder is not None else actor

    def release_edit(self, proposal_id: str, revision: int, actor: str) -> None:
        """Give the reservation back (the edit failed), only if ``actor`` still holds it."""
        key = self._k("editing", proposal_id, str(revision))
        holder = self._redis.get(key)
        if holder is not None and _s(holder) == actor:
            self._redis.delete(key)

    def get(self, proposal_id: str) -> Proposal | None:
        raw = self._redis.hmget(self._k("proposal", proposal_id), ["body", "message_ts"])
        body, message_ts = (_s(v) if v is not None else None for v in raw)
        if body is None:
            return None
        proposal = Proposal.model_validate_json(body)
        return proposal.model_copy(update={"message_ts": message_ts}) if message_ts else proposal

    def set_message(self, proposal_id: str, message_ts: str) -> None:
        """Remember where the card is, so any replica can update it later."""
        self._redis.hset(self._k("proposal", proposal_id), "message_ts", message_ts)

    def find(
        self, workload: str, namespace: str | None = None, *, cluster: str | None = None
    ) -> tuple[Proposal | None, bool]:
        """The proposal that explains a workload: the applied one if any, else the latest.

        Returns (proposal, applied). Without a namespace or a cluster, the most recently
        updated match wins. ``cluster`` keeps only that cluster's (a proposal naming none is
        the default cluster's): a pointer an earlier version wrote for several clusters under
        one slot is only taken for the cluster its proposal names.
        """
        members = sorted(_s(n) for n in self._redis.smembers(self._k("names", workload)))
        best: tuple[Proposal | None, bool] = (None, False)
        for member in members:
            ns, named = split_member(member)
            if (namespace and ns != namespace) or (cluster and named and named != cluster):
                continue
            slot = workload_slot(ns, workload, named, self._default)
            ids = self._redis.hmget(self._k("workload", slot), ["applied", "latest"])
            applied_id, latest_id = (_s(v) if v is not None else None for v in ids)
            chosen = applied_id or latest_id
            found = self.get(chosen) if chosen else None
            if found is None or (cluster and (found.cluster or self._default) != cluster):
                continue
            if best[0] is None or found.updated_at > best[0].updated_at:
                best = (found, applied_id is not None)
        return best

    def recent_for(self, user: str, limit: int = 15) -> list[Proposal]:
        ids = self._redis.zrevrange(self._k("user", user), 0, limit - 1)
        return [p for p in (self.get(_s(i)) for i in ids) if p is not None]

    def in_states(self, states: Iterable[ProposalState]) -> list[Proposal]:
        out = []
        for state in states:
            for pid in sorted(_s(i) for i in self._redis.smembers(self._k("state", state.value))):
                found = self.get(pid)
                if found is not None and found.state == state:
                    out.append(found)
        return out

    def count_by_state(self) -> dict[str, int]:
        """How many proposals are in each state now (the state index sets, one round trip)."""
        pipe = self._redis.pipeline(transaction=False)
        for state in ProposalState:
            pipe.scard(self._k("state", state.value))
        return {s.value: int(n) for s, n in zip(ProposalState, pipe.execute(), strict=True)}

    def due_to_expire(self, now: float) -> list[Proposal]:
        ids = self._redis.zrangebyscore(self._k("expiry"), "-inf", now)
        return [p for p in (self.get(_s(i)) for i in ids) if p is not None]


def _entry(proposal: Proposal, from_state: str, reason: str) -> AuditEntry:
    return AuditEntry(
        event="transition",
        proposal=proposal.id,
        revision=proposal.revision,
        workload=proposal.workload,
        namespace=proposal.namespace,
        from_state=from_state,
        to_state=proposal.state.value,
        actor=proposal.updated_by,
        at=now_iso(proposal.updated_at),
        sha256=proposal.current.shown_sha256,
        reason=reason,
        cluster=proposal.cluster or "",
    )


def _body(proposal: Proposal) -> str:
    return proposal.model_dump_json(exclude={"message_ts"})


def _s(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _strs(result: list[bytes | str]) -> tuple[str, str, str]:
    a, b, c = (_s(v) for v in result)
    return a, b, c
