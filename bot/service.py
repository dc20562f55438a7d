"""The application service: what Slack (and later the agent) may ask of Sizer.

Everything that changes a proposal goes through here, and only :meth:`ProposalService.approve`
— after the approver is authorised, the card is fresh, its hash matches and the workload lock
is held — ever reaches :meth:`Executor.apply`. Nothing here knows about Slack.

Errors a person can act on are :class:`ServiceError` subclasses whose message says what to do::

    ServiceError
    ├── InputError        bad input; the message names the field and the rule
    │   └── EditInvalid   per-field messages for the edit form
    ├── NotFound          no such proposal or workload
    ├── NotAuthorised     the actor may not do this (audited)
    ├── StaleCard         expired, superseded or already decided (audited)
    │   └── EditConflict  someone else saved (or is saving) a revision during this edit
    ├── Busy              another change to the workload is being applied
    ├── IntegrityError    what would be applied is not what was shown (audited)
    └── Unrecorded        the store failed; the message says what happened in the cluster
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError
from redis import RedisError

from bot.approvals.access import AccessConfig, GroupDirectory, may_approve
from bot.approvals.audit import AuditEntry
from bot.approvals.locks import WorkloadLocks
from bot.approvals.models import (
    FOLLOWED,
    INTERRUPTED,
    CardRef,
    Prices,
    Proposal,
    ProposalState,
    Revision,
    Sizing,
    shown_hash,
)
from bot.approvals.reasons import ReasonTooLong, clean_reason
from bot.approvals.store import ProposalStore, TransitionConflict
from bot.clusters import ClusterChoiceError, ClusterSet
from bot.executors.base import (
    ApplyRequest,
    ApplyResult,
    ChangeRequestState,
    Executor,
    Lease,
    LeaseLost,
    PreparedChange,
    PrepareRequest,
    Progress,
)
from bot.observability.logs import log_context
from bot.observability.metrics import APPLIES
from tools.catalog import PeerCatalog
from tools.propose import SizeRequest, propose
from tools.sizing.coldstart import ColdStartSettings
from tools.sizing.models import Policy, Reason, Recommendation
from tools.sizing.outcomes import OutcomeCalibration
from tools.sizing.profiles import PeerProfile
from tools.sizing.quantities import (
    QuantityError,
    format_cpu,
    format_memory,
    parse_cpu,
    parse_memory,
)

log = logging.getLogger(__name__)
S = ProposalState
SYSTEM_ACTOR = "sizer"
# (namespace, workload) → that workload's recent per-pod usage, or None without data.
LiveUsage = Callable[[str, str], PeerProfile | None]
PROPOSAL_ID = re.compile(r"p-[0-9a-f]{8}\Z")
RETRY_MEMORY_FACTOR = 1.5
BUNDLED_HISTORY = Reason(
    field="confidence",
    value=None,
    statistic="input check",
    window="bundled history",
    text="Sized from the bundled demo history (public recordings of Online Boutique and "
    "TrainTicket), not from this cluster's workloads; with PROMETHEUS_URL set, peers come "
    "from the cluster.",
)
# The edit form's fields, as the Slack modal shows them and its submission is read.
EDIT_FIELDS = tuple(Sizing.model_fields)
# ASCII digits only (str.isdigit takes "²"), and few enough that int() is cheap and bounded.
_REPLICAS = re.compile(r"[0-9]{1,6}", re.ASCII)


class ServiceError(Exception):
    """A refusal a person can act on; ``str(exc)`` says what to do."""


class InputError(ServiceError):
    pass


class EditInvalid(InputError):
    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = dict(errors)


class NotFound(ServiceError):
    pass


class NotAuthorised(ServiceError):
    pass


class StaleCard(ServiceError):
    """``by`` is who made the card stale, when someone did (the Slack side names them)."""

    def __init__(self, message: str, by: str | None = None) -> None:
        super().__init__(message)
        self.by = by


class EditConflict(StaleCard):
    """Another person's edit won: ``author`` saved (or, ``saving``, is saving) ``revision``."""

    def __init__(self, proposal_id: str, author: str, revision: int, *, saving: bool) -> None:
        verb = "is saving" if saving else "saved"
        super().__init__(
            f"<@{author}> {verb} revision {revision} of {proposal_id} while you were editing; "
            "reopen Edit on the card"
        )
        self.author = author
        self.revision = revision
        self.saving = saving


class DoesNotFit(ServiceError):
    pass


class Busy(ServiceError):
    pass


class IntegrityError(ServiceError):
    pass


class Unrecorded(ServiceError):
    """The store failed to record a step; ``outcome``/``result`` say what the cluster did.

    ``outcome`` is None when the failure came before anything was applied.
    """

    def __init__(
        self,
        message: str,
        proposal: Proposal,
        outcome: ProposalState | None = None,
        result: ApplyResult | None = None,
    ) -> None:
        super().__init__(message)
        self.proposal = proposal
        self.outcome = outcome
        self.result = result


@dataclass(frozen=True)
class WhyAnswer:
    proposal: Proposal
    applied: bool


def change_problem(change: PreparedChange) -> str | None:
    """Why a prepared change can no longer be trusted, or None if its hashes hold."""
    digest = hashlib.sha256(change.manifest_yaml.encode()).hexdigest()
    if digest != change.manifest_sha256:
        return "the rendered manifest no longer matches its sha256"
    if change.plan_sha256 is not None:
        if change.plan_path is None:
            return "the Terraform plan has a hash but no file"
        try:
            plan = hashlib.sha256(Path(change.plan_path).read_bytes()).hexdigest()
        except OSError:
            return f"the saved Terraform plan {change.plan_path} cannot be read"
        if plan != change.plan_sha256:
            return "the saved Terraform plan no longer matches its sha256"
    return None


def sizing_of(rec: Recommendation) -> Sizing:
    return Sizing(
        replicas=rec.replicas,
        cpu_request=format_cpu(rec.cpu_request_cores),
        cpu_limit=format_cpu(rec.cpu_limit_cores) if rec.cpu_limit_cores is not None else None,
        memory_request=format_memory(rec.memory_request_bytes),
        memory_limit=(
            format_memory(rec.memory_limit_bytes) if rec.memory_limit_bytes is not None else None
        ),
    )


def container_of(request: Mapping[str, object]) -> dict[str, object]:
    """The container settings a size request carries into the rendered manifest."""
    keys = ("image", "port", "probe_path")
    return {k: request[k] for k in keys if request.get(k) is not None}


def _quiet(_: str) -> None:
    return None


class ProposalService:
    def __init__(
        self,
        *,
        store: ProposalStore,
        locks: WorkloadLocks,
        executor: Executor,
        access: AccessConfig,
        groups: GroupDirectory,
        catalog: Callable[[], PeerCatalog],
        policy: Policy,
        proposal_ttl_s: float,
        coldstart: ColdStartSettings | None = None,
        clock: Callable[[], float] = time.time,
        new_id: Callable[[], str] = lambda: "p-" + secrets.token_hex(4),
        live_usage: LiveUsage | None = None,
        prices: Prices | None = None,
        edit_claim_ttl_s: float = 300,
        clusters: ClusterSet | None = None,
        cluster_catalog: Callable[[str], PeerCatalog] | None = None,
        on_applied: Callable[[Proposal], None] | None = None,
        learned: Callable[[], OutcomeCalibration] | None = None,
    ) -> None:
        self._store = store
        self._learned = learned
        self._clusters = clusters
        self._cluster_catalog = cluster_catalog
        self._locks = locks
        self._executor = executor
        self._access = access
        self._groups = groups
        self._catalog = catalog
        self._policy = policy
        self._coldstart = coldstart or ColdStartSettings()
        self._ttl = proposal_ttl_s
        self._clock = clock
        self._new_id = new_id
        self._live_usage = live_usage
        self._on_applied = on_applied
        self._prices = prices
        self._edit_claim_ttl_s = edit_claim_ttl_s

    def _outcome_calibration(self) -> OutcomeCalibration | None:
        """What verified outcomes teach cold start; sizing goes on without it if unreadable."""
        if self._learned is None:
            return None
        try:
            return self._learned()
        except (RedisError, OSError, ValueError) as exc:
            log.warning("sizing without learnt outcomes (%s)", exc)
            return None

    def policy_for(self, namespace: str) -> Policy:
        """The sizing policy with the namespace's replica bound from the access file applied,
        so sizing and the edit form cap replicas at the same number."""
        rules = self._access.for_namespace(namespace)
        cap = rules.capacity.max_replicas if rules is not None else None
        if cap is None or cap >= self._policy.max_replicas:
            return self._policy
        floor = min(self._policy.min_replicas, cap)
        critical = min(self._policy.critical_min_replicas, cap)
        return self._policy.model_copy(
            update={"max_replicas": cap, "min_replicas": floor, "critical_min_replicas": critical}
        )

    # -- asking -------------------------------------------------------------------------

    def size(
        self,
        request: SizeRequest,
        requester: str,
        channel: str | None = None,
        thread_ts: str | None = None,
        progress: Progress = _quiet,
    ) -> Proposal:
        """Size, prepare what would be applied, and store the proposal (state ``proposed``)."""
        cluster = self._cluster_for(request.cluster)
        try:
            catalog = (
                self._cluster_catalog(cluster)
                if cluster is not None and self._cluster_catalog is not None
                else self._catalog()
            )
        except (OSError, ValueError) as exc:
            raise ServiceError(f"cannot read the peer history: {exc}") from None
        progress(f"Sizing `{request.name}` against {len(catalog)} known services…")
        policy = self.policy_for(request.namespace)
        learned = self._outcome_calibration()
        try:
            rec = propose(request, catalog, policy, self._coldstart, learned=learned)
            if policy is not self._policy and rec.replicas >= policy.max_replicas:
                # What the load alone calls for, with no replica bound at all.
                unbounded = self._policy.model_copy(update={"max_replicas": 1000})
                wanted = propose(request, catalog, unbounded, self._coldstart)
                rec = _capped(rec, wanted.replicas, request.namespace, policy.max_replicas)
        except (ValidationError, ValueError) as exc:
            raise InputError(str(exc)) from None
        if catalog.bundled:
            rec = rec.model_copy(update={"reasons": (*rec.reasons, BUNDLED_HISTORY)})
        now = self._clock()
        proposal_id = self._new_id()
        sizing = sizing_of(rec)
        progress("Rendering the manifest and planning the change…")
        revision = self._revision(
            proposal_id,
            1,
            request.name,
            request.namespace,
            sizing,
            requester,
            "sized",
            now,
            container=container_of(request.model_dump(mode="json")),
            cluster=cluster,
        )
        proposal = Proposal(
            id=proposal_id,
            workload=request.name,
            namespace=request.namespace,
            requester=requester,
            revisions=(revision,),
            confidence=rec.confidence,
            reasons=rec.reasons,
            request=request.model_dump(mode="json"),
            created_at=now,
            expires_at=now + self._ttl,
            updated_at=now,
            updated_by=requester,
            channel=channel,
            thread_ts=thread_ts,
            cluster=cluster,
        )
        return self._store.create(proposal, reason=f"sized by {rec.strategy}")

    def _cluster_for(self, requested: str | None) -> str | None:
        """The cluster a request means; asks (InputError) when several could be meant.

        None without a clusters file: the one cluster, and proposals look as they always did.
        """
        if self._clusters is None or not self._clusters.from_file:
            only = self._clusters.names[0] if self._clusters is not None else None
            if requested and requested != only:
                raise InputError(f"no cluster {requested!r}: this Sizer serves one cluster")
            return None
        try:
            return self._clusters.choose(requested).name
        except ClusterChoiceError as exc:
            raise InputError(str(exc)) from None

    def _revision(
        self,
        proposal_id: str,
        number: int,
        workload: str,
        namespace: str,
        sizing: Sizing,
        author: str,
        note: str,
        now: float,
        container: Mapping[str, object] | None = None,
        *,
        cluster: str | None = None,
    ) -> Revision:
        request = PrepareRequest(
            **(container or {}),
            proposal_id=proposal_id,
            revision=number,
            workload=workload,
            namespace=namespace,
            replicas=sizing.replicas,
            cpu_request=sizing.cpu_request,
            cpu_limit=sizing.cpu_limit,
            memory_request=sizing.memory_request,
            memory_limit=sizing.memory_limit,
            labels={"app.kubernetes.io/managed-by": "sizer", "sizer.dev/proposal": proposal_id},
            cluster=cluster,
        )
        try:
            change = self._executor.prepare(request)
        except Exception as exc:
            log.exception("prepare failed for %s r%d", proposal_id, number)
            raise ServiceError(f"could not render or plan the change: {exc}") from None
        problem = change_problem(change)
        if problem is not None:
            raise IntegrityError(f"the prepared change is inconsistent: {problem}")
        return Revision(
            number=number,
            sizing=sizing,
            change=change,
            shown_sha256=shown_hash(
                proposal_id, number, workload, namespace, sizing, change, cluster
            ),
            author=author,
            created_at=now,
            note=note,
            prices=self._prices,
        )

    def attach_card(self, proposal_id: str, message_ts: str) -> None:
        self._store.set_message(proposal_id, message_ts)

    def get(self, proposal_id: str) -> Proposal:
        found = self._store.get(proposal_id) if PROPOSAL_ID.fullmatch(proposal_id) else None
        if found is None:
            raise NotFound(
                f"no proposal {proposal_id!r}; proposal IDs look like p-1a2b3c4d (see the card)"
            )
        return self._expire_if_due(found)

    def trail(self, proposal_id: str) -> list[AuditEntry]:
        """Every audited step of one proposal, oldest first."""
        return list(self._store.audit.entries(proposal=proposal_id))

    def workload_trail(self, workload: str) -> list[AuditEntry]:
        """Every audited step of a workload (``name`` or ``namespace/name``), oldest first."""
        return list(self._store.audit.entries(workload=workload))

    def count_by_state(self) -> dict[str, int]:
        """How many proposals are in each state (for the metrics endpoint)."""
        return self._store.count_by_state()

    def recent_for(self, user: str, limit: int = 15) -> list[Proposal]:
        """The proposals ``user`` asked for, newest first."""
        return self._store.recent_for(user, limit)

    def find(self, proposal_id: str) -> Proposal | None:
        """The stored proposal, or None; no expiry side effect (for re-rendering a card)."""
        return self._store.get(proposal_id) if PROPOSAL_ID.match(proposal_id) else None

    def why(self, target: str) -> WhyAnswer:
        """The stored reasons behind a proposal or the workload's applied (or latest) one."""
        if PROPOSAL_ID.fullmatch(target):
            found = self.get(target)
            return WhyAnswer(found, found.state == S.APPLIED)
        namespace, _, name = target.rpartition("/")
        proposal, applied = self._store.find(name, namespace or None)
        if proposal is None:
            raise NotFound(
                f"I have no proposal for {target!r}; ask with `size {name} --rps 10-50 ...` first"
            )
        return WhyAnswer(proposal, applied)

    def peers_of(self, proposal: Proposal) -> list[PeerProfile]:
        """Profiles of the peers the stored reasons name (for the chart)."""
        names = {p for r in proposal.reasons for p in r.peers}
        try:
            catalog = self._catalog()
        except (OSError, ValueError):
            return []
        return [p for p in catalog if p.meta.name in names]

    def live_profile(self, proposal: Proposal) -> PeerProfile | None:
        """The applied workload's own recent usage, when a metrics source is configured."""
        if self._live_usage is None or proposal.state != S.APPLIED:
            return None
        try:
            return self._live_usage(proposal.namespace, proposal.workload)
        except Exception as exc:  # the chart falls back to the peers; the answer still stands
            log.warning("no live usage for %s: %s", proposal.key, exc)
            return None

    # -- deciding -----------------------------------------------------------------------

    def approve(
        self,
        ref: CardRef,
        actor: str,
        progress: Progress = _quiet,
        observe: Callable[[Proposal], object] | None = None,
    ) -> Proposal:
        """Authorise, lock, apply exactly what was shown, and record every step.

        ``observe`` sees the proposal after each intermediate transition (to update a card).
        """
        seen = self._fresh(ref, actor, "approve")
        decision = may_approve(
            self._access, seen.namespace, actor, seen.requester, self._groups, cluster=seen.cluster
        )
        if not decision.allowed:
            self._store.deny(seen, actor, "approve refused: " + decision.reason, self._clock())
            raise NotAuthorised(decision.reason)
        revision = seen.current
        if revision.change.preflight:
            misfit = "; ".join(revision.change.preflight)
            self._store.deny(seen, actor, "approve refused: does not fit: " + misfit, self._clock())
            raise DoesNotFit(
                f"revision {revision.number} does not fit the cluster ({misfit}); use the "
                "nearest size on the card or ask for more quota"
            )
        problem = change_problem(revision.change)
        if problem is not None:
            self._store.deny(seen, actor, "approve refused: " + problem, self._clock())
            raise IntegrityError(f"refusing to apply: {problem}; ask for a new proposal")
        lock = self._locks.acquire(seen.namespace, seen.workload, seen.id, cluster=seen.cluster)
        if lock is None:
            self._refuse_moved(seen, actor, "approve")
            holder = self._locks.holder(seen.namespace, seen.workload, cluster=seen.cluster)
            if holder == seen.id:
                self._store.deny(
                    seen, actor, "approve refused: already being applied", self._clock()
                )
                raise StaleCard(f"proposal {seen.id} is already being approved and applied")
            where = seen.key + (f" on {seen.cluster}" if seen.cluster else "")
            raise Busy(
                f"another change to {where} ({holder}) is being applied; "
                "approve again when it has finished"
            )
        with lock, log_context(proposal_id=seen.id, workload=seen.key):
            try:
                approved = self._move(seen, S.APPROVED, actor, "approved: " + decision.reason)
                applying = self._move(approved, S.APPLYING, actor, "apply started")
            except RedisError as exc:
                raise Unrecorded(
                    f"could not record the approval of {seen.id} (Redis: {exc}); "
                    "nothing was applied: approve again once Redis answers",
                    seen,
                ) from None
            if observe is not None:
                self._tell(observe, applying)
            result = self._apply(applying, actor, progress, lock)
            final = S.APPLIED if result.ok else S.ROLLED_BACK if result.rolled_back else S.FAILED
            why = "apply succeeded" if result.ok else f"apply failed: {result.error or 'unknown'}"
            if result.ok and result.change_request is not None:
                final, why = S.SUBMITTED, "submitted: " + _submitted(result)
            APPLIES.labels(final.value).inc()
            log.info("apply finished: %s", final.value)
            try:
                done = self._move(applying, final, actor, why, result=result)
            except RedisError as exc:
                raise Unrecorded(
                    f"the apply of {seen.id} ended {final.value}, but recording it failed "
                    f"(Redis: {exc}); it stays applying until an approver resolves it",
                    applying,
                    final,
                    result,
                ) from None
        self._applied(done)
        return done

    def _applied(self, proposal: Proposal) -> None:
        """Tell the checks (scheduled after every apply); their failure never changes a state."""
        if proposal.state != S.APPLIED or self._on_applied is None:
            return
        try:
            self._on_applied(proposal)
        except Exception:
            log.exception("could not schedule the checks of %s r%d", proposal.id, proposal.revision)

    def revise(
        self,
        proposal_id: str,
        sizing: Sizing,
        *,
        reasons: tuple[Reason, ...],
        confidence: float,
        note: str,
        base_revision: int,
    ) -> Proposal:
        """A new revision proposed by a check of the applied ``base_revision`` (state proposed).

        It goes through the same Approve / Edit / Reject path, access rules and audit as the
        first one; the applied revision keeps running until it is approved. After an earlier
        check's revision was rejected, expired or rolled back, ``base_revision`` still runs
        and a check may propose again; a proposal that was never applied never gets one.
        """
        seen = self.get(proposal_id)
        reopens = (
            seen.state in (S.REJECTED, S.EXPIRED, S.ROLLED_BACK) and seen.revision > base_revision
        )
        if seen.in_force != base_revision or not (seen.state == S.APPLIED or reopens):
            raise StaleCard(
                f"{seen.id} is {seen.state} at revision {seen.revision}, not applied at revision "
                f"{base_revision}; no new revision"
            )
        now = self._clock()
        revision = self._revision(
            seen.id,
            seen.revision + 1,
            seen.workload,
            seen.namespace,
            sizing,
            SYSTEM_ACTOR,
            note,
            now,
            container=container_of(seen.request),
            cluster=seen.cluster,
        )
        new = seen.model_copy(
            update={
                "state": S.PROPOSED,
                "revisions": (*seen.revisions, revision),
                "reasons": reasons,
                "confidence": confidence,
                "expires_at": now + self._ttl,
                "updated_at": now,
                "updated_by": SYSTEM_ACTOR,
                "result": None,
                "applied_revision": base_revision,
                "rejection_reason": None,
            }
        )
        if reopens:
            note = f"{note} (after revision {seen.revision} was {seen.state})"
        return self._save(seen, new, note)

    @staticmethod
    def _tell(observe: Callable[[Proposal], object], proposal: Proposal) -> None:
        """A listener that cannot show a step (Slack down) never stops or freezes the apply."""
        try:
            observe(proposal)
        except Exception:
            log.exception("could not show %s as %s", proposal.id, proposal.state)

    def _apply(
        self, proposal: Proposal, actor: str, progress: Progress, lease: Lease
    ) -> ApplyResult:
        request = ApplyRequest(
            proposal_id=proposal.id,
            revision=proposal.revision,
            workload=proposal.workload,
            namespace=proposal.namespace,
            approved_by=actor,
            change=proposal.current.change,
            cluster=proposal.cluster,
            confidence=proposal.confidence,
            reasons=proposal.reasons,
        )

        def show(line: str) -> None:
            try:
                progress(line)
            except Exception:
                log.exception("progress of %s could not be shown", proposal.id)

        try:
            return self._executor.apply(request, show, lease)
        except LeaseLost as exc:
            log.error("apply of %s stopped: %s", proposal.id, exc)
            return ApplyResult(ok=False, failed_step="lock", error=f"stopped: {exc}")
        except Exception as exc:
            log.exception("apply raised for %s r%d", proposal.id, proposal.revision)
            return ApplyResult(ok=False, error=f"{type(exc).__name__}: {exc}")

    def retry_with_more_memory(
        self, proposal_id: str, actor: str, factor: float = RETRY_MEMORY_FACTOR
    ) -> Proposal:
        """A new proposal after an OOM: the same size with the memory limit raised ``factor``×.

        The rolled-back (or failed) proposal stays as it ended; the new one needs approval like
        any other and is checked against the namespace's capacity first.
        """
        old = self.get(proposal_id)
        if old.state not in (S.ROLLED_BACK, S.FAILED):
            raise StaleCard(
                f"{old.id} is {old.state}; only a rolled-back or failed apply is retried"
            )
        self._may_change(old, actor, "retry")
        sizing = old.current.sizing
        ceiling = parse_memory(sizing.memory_limit or sizing.memory_request)
        raised = sizing.model_copy(
            update={"memory_limit": format_memory(_round_mebibytes(ceiling * factor))}
        )
        rules = self._access.for_namespace(old.namespace)
        over = rules.capacity.problems(raised) if rules is not None else {}
        if over:
            raise InputError(
                f"raising the memory limit to {raised.memory_limit} does not fit "
                f"{old.namespace}: {'; '.join(over.values())}"
            )
        now = self._clock()
        new_id = self._new_id()
        change = ", ".join(raised.changes_from(sizing))
        note = f"retry of {old.id} after it was {old.state.replace('_', ' ')}: {change}"
        revision = self._revision(
            new_id,
            1,
            old.workload,
            old.namespace,
            raised,
            actor,
            note,
            now,
            container=container_of(old.request),  # the same image, port and probe
            cluster=old.cluster,  # prepared by, and applied to, the same cluster
        )
        proposal = old.model_copy(
            update={
                "id": new_id,
                "state": S.PROPOSED,
                "requester": old.requester,
                "revisions": (revision,),
                "created_at": now,
                "expires_at": now + self._ttl,
                "updated_at": now,
                "updated_by": actor,
                "message_ts": None,
                "result": None,
            }
        )
        return self._store.create(proposal, reason=note)

    def reject(self, ref: CardRef, actor: str, note: str = "") -> Proposal:
        """Reject the revision the card showed; ``note`` is the person's reason (optional).

        The note is kept on the proposal (the card and later checks show it) and in the audit
        entry of the same transition, so a second submit finds it rejected and changes nothing.
        """
        reason_text = rejection_note(note)
        seen = self.rejectable(ref, actor)
        reason = "rejected" + (f": {reason_text}" if reason_text else "") + _runs_on(seen)
        return self._move(seen, S.REJECTED, actor, reason, note=reason_text or None)

    def rejectable(self, ref: CardRef, actor: str) -> Proposal:
        """The proposal behind a card, if ``actor`` may reject it now (before the form opens)."""
        seen = self._fresh(ref, actor, "reject")
        self._may_change(seen, actor, "reject")
        return seen

    def editable(self, ref: CardRef, actor: str) -> Proposal:
        """The proposal behind a card, if ``actor`` may open its edit form now."""
        seen = self._fresh(ref, actor, "edit")
        self._may_change(seen, actor, "edit")
        return seen

    def check_edit(self, ref: CardRef, actor: str, values: Mapping[str, str]) -> Sizing:
        """Validate an edit form; :class:`EditInvalid` names each bad field and its rule."""
        self._not_overtaken(ref)
        seen = self.editable(ref, actor)
        sizing = parse_edit(values, self.policy_for(seen.namespace).max_replicas)
        rules = self._access.for_namespace(seen.namespace)
        if rules is not None:
            over = rules.capacity.problems(sizing)
            if over:
                raise EditInvalid(over)
        if sizing == seen.current.sizing:
            raise EditInvalid({"replicas": "nothing changed; edit at least one value"})
        holder = self._store.claim_edit(seen.id, seen.revision, actor, self._edit_claim_ttl_s)
        if holder != actor:
            self._store.deny(seen, actor, f"edit refused: <@{holder}> is saving one", self._clock())
            raise EditConflict(seen.id, holder, seen.revision + 1, saving=True)
        return sizing

    def _not_overtaken(self, ref: CardRef) -> None:
        """Refuse an edit made on a revision someone else has replaced since."""
        found = self._store.get(ref.proposal_id)
        if found is not None and found.state == S.PROPOSED and found.revision > ref.revision:
            raise EditConflict(found.id, found.current.author, found.revision, saving=False)

    def edit(self, ref: CardRef, actor: str, values: Mapping[str, str]) -> Proposal:
        """Re-check, re-prepare and store the edit as a new revision (still ``proposed``)."""
        sizing = self.check_edit(ref, actor, values)
        try:
            return self._save_edit(ref, actor, sizing)
        except ServiceError:
            self._store.release_edit(ref.proposal_id, ref.revision, actor)
            raise

    def _save_edit(self, ref: CardRef, actor: str, sizing: Sizing, note: str = "") -> Proposal:
        seen = self._fresh(ref, actor, "edit")
        now = self._clock()
        changes = sizing.changes_from(seen.current.sizing)
        note = note or f"edited by <@{actor}>: " + ", ".join(changes)
        revision = self._revision(
            seen.id,
            seen.revision + 1,
            seen.workload,
            seen.namespace,
            sizing,
            actor,
            note,
            now,
            container=container_of(seen.request),
            cluster=seen.cluster,
        )
        if revision.change.preflight:
            misfit = "; ".join(revision.change.preflight)
            self._store.deny(seen, actor, f"edit refused: does not fit the cluster: {misfit}", now)
            raise EditInvalid({"replicas": f"the edit does not fit the cluster: {misfit}"})
        new = seen.model_copy(
            update={
                "revisions": (*seen.revisions, revision),
                "updated_at": now,
                "updated_by": actor,
            }
        )
        try:
            return self._save(seen, new, note)
        except StaleCard:
            # Another revision was saved first; this one's plan is simply never referenced.
            now_ = self._store.get(seen.id)
            if now_ is not None and now_.state == S.PROPOSED and now_.revision > seen.revision:
                raise EditConflict(
                    seen.id, now_.current.author, now_.revision, saving=False
                ) from None
            raise

    def fit_to_room(self, ref: CardRef, actor: str) -> Proposal:
        """A new revision at the most replicas that fit now (the card's "nearest size")."""
        seen = self.editable(ref, actor)
        fit = seen.current.change.fit
        most = fit.max_replicas if fit is not None else None
        if not seen.current.change.preflight or most is None:
            raise StaleCard(f"revision {seen.revision} of {seen.id} already fits; approve it")
        if most < 1:
            raise DoesNotFit(
                f"not even one pod of {seen.workload} fits {seen.namespace} now; ask the "
                "platform team for more quota or smaller pods (Edit)"
            )
        sizing = seen.current.sizing.model_copy(update={"replicas": most})
        holder = self._store.claim_edit(seen.id, seen.revision, actor, self._edit_claim_ttl_s)
        if holder != actor:
            raise EditConflict(seen.id, holder, seen.revision + 1, saving=True)
        note = (
            f"<@{actor}> took the nearest size that fits: replicas "
            f"{seen.current.sizing.replicas} → {most}"
        )
        try:
            return self._save_edit(ref, actor, sizing, note)
        except ServiceError:
            self._store.release_edit(seen.id, seen.revision, actor)
            raise

    def pending_for(self, user: str) -> list[Proposal]:
        """Proposals waiting for a decision that ``user`` may approve, oldest first."""
        now = self._clock()
        waiting = [
            p
            for p in self._store.in_states([S.PROPOSED])
            if p.expires_at > now
            and may_approve(self._access, p.namespace, user, p.requester, self._groups).allowed
        ]
        return sorted(waiting, key=lambda p: p.created_at)

    # -- housekeeping -------------------------------------------------------------------

    def expire_due(self) -> list[Proposal]:
        """Move every proposal past its expiry to ``expired``; returns those it moved."""
        now = self._clock()
        moved = []
        for proposal in self._store.due_to_expire(now):
            if proposal.state == S.PROPOSED:
                try:
                    moved.append(self._expire(proposal))
                except StaleCard:
                    continue
        return moved

    def followed(self) -> list[Proposal]:
        """GitOps proposals waiting on their pull request or on the controller's rollout."""
        return self._store.in_states(sorted(FOLLOWED))

    def record_review(self, proposal: Proposal, state: ChangeRequestState) -> Proposal | None:
        """The pull request of a submitted proposal was merged or closed; None if still open."""
        result = proposal.result
        if proposal.state != S.SUBMITTED or result is None or result.change_request is None:
            return None
        if state == "open":
            return None
        change_request = result.change_request.model_copy(update={"state": state})
        update = result.model_copy(update={"change_request": change_request})
        where = change_request.url or change_request.branch
        target, why = (
            (S.MERGED, f"merged: {where}; the GitOps controller rolls it out")
            if state == "merged"
            else (S.CLOSED, f"closed without merging: {where}")
        )
        return self._move(proposal, target, SYSTEM_ACTOR, why, result=update)

    def record_rollout(self, proposal: Proposal) -> Proposal:
        """The merged revision is in the cluster (the workload carries its annotation)."""
        done = self._move(
            proposal,
            S.APPLIED,
            SYSTEM_ACTOR,
            "applied: the GitOps controller rolled it out (workload seen with the annotation)",
        )
        self._applied(done)
        return done

    def interrupted(self) -> list[Proposal]:
        """Proposals approved or applying whose apply lock lapsed: their bot died mid-way."""
        return [
            p
            for p in self._store.in_states(sorted(INTERRUPTED))
            if self._locks.holder(p.namespace, p.workload, cluster=p.cluster) != p.id
        ]

    def unreported_interrupted(self) -> list[Proposal]:
        """Interrupted applies not yet reported to anyone (each is returned once, ever)."""
        return [p for p in self.interrupted() if self._store.first_report(p.id)]

    def report_failed(self, proposal_id: str) -> None:
        """Nobody could be told about this interrupted apply: report it again next time."""
        self._store.forget_report(proposal_id)

    def resolve(self, proposal_id: str, outcome: ProposalState, actor: str, note: str) -> Proposal:
        """An approver records how an interrupted apply ended, after checking the cluster."""
        seen = self.get(proposal_id)
        if seen.state not in INTERRUPTED:
            raise StaleCard(f"{seen.id} is {seen.state}, not interrupted; nothing to resolve")
        if seen.state == S.APPROVED and outcome != S.FAILED:
            raise InputError(f"{seen.id} never started applying; it can only be resolved failed")
        if outcome not in (S.APPLIED, S.FAILED, S.ROLLED_BACK):
            raise InputError("resolve to one of: applied, failed, rolled_back")
        decision = may_approve(
            self._access, seen.namespace, actor, "", self._groups, cluster=seen.cluster
        )
        if not decision.allowed:
            self._store.deny(seen, actor, "resolve refused: " + decision.reason, self._clock())
            raise NotAuthorised(decision.reason)
        if self._locks.holder(seen.namespace, seen.workload, cluster=seen.cluster) == seen.id:
            raise Busy(
                f"{seen.id} is still being applied (its lock is held); if the bot applying it "
                f"died, the lock lapses within {self._locks.ttl_s:g}s: resolve it after that"
            )
        done = self._move(seen, outcome, actor, f"resolved after restart: {note or outcome}")
        self._locks.release_for(seen.namespace, seen.workload, seen.id, cluster=seen.cluster)
        self._applied(done)
        return done

    # -- internals ----------------------------------------------------------------------

    def _fresh(self, ref: CardRef, actor: str, action: str) -> Proposal:
        found = self._store.get(ref.proposal_id)
        if found is None:
            raise NotFound(f"proposal {ref.proposal_id} no longer exists")
        proposal = self._expire_if_due(found)
        if proposal.state == S.EXPIRED:
            self._store.deny(proposal, actor, f"{action} refused: expired", self._clock())
            raise StaleCard(
                f"proposal {proposal.id} expired; ask again with `size {proposal.workload}"
                " ...` for a fresh one"
            )
        if ref.revision != proposal.revision:
            self._store.deny(
                proposal,
                actor,
                f"{action} refused: card shows revision {ref.revision}",
                self._clock(),
            )
            raise StaleCard(
                f"this card shows revision {ref.revision} of {proposal.id}, but it was edited "
                f"since (now revision {proposal.revision}); use the newest card"
            )
        if proposal.state != S.PROPOSED:
            self._store.deny(
                proposal, actor, f"{action} refused: already {proposal.state}", self._clock()
            )
            raise StaleCard(
                f"proposal {proposal.id} is already {proposal.state.replace('_', ' ')}",
                by=proposal.updated_by,
            )
        if ref.shown_sha256 != proposal.current.shown_sha256:
            self._store.deny(proposal, actor, f"{action} refused: hash mismatch", self._clock())
            raise IntegrityError(
                "this card does not match the stored proposal (hash mismatch); nothing was done"
            )
        return proposal

    def _expire_if_due(self, proposal: Proposal) -> Proposal:
        if proposal.state != S.PROPOSED or self._clock() < proposal.expires_at:
            return proposal
        try:
            return self._expire(proposal)
        except StaleCard:
            again = self._store.get(proposal.id)
            return again if again is not None else proposal

    def _expire(self, proposal: Proposal) -> Proposal:
        return self._move(proposal, S.EXPIRED, SYSTEM_ACTOR, "expired" + _runs_on(proposal))

    def _may_change(self, proposal: Proposal, actor: str, action: str) -> None:
        """The requester or an approver may edit or reject (never approve: see approve)."""
        if actor == proposal.requester:
            return
        decision = may_approve(
            self._access, proposal.namespace, actor, "", self._groups, cluster=proposal.cluster
        )
        if not decision.allowed:
            self._store.deny(proposal, actor, f"{action} refused: {decision.reason}", self._clock())
            raise NotAuthorised(
                f"only the requester or an approver may {action}: {decision.reason}"
            )

    def _refuse_moved(self, seen: Proposal, actor: str, action: str) -> None:
        now = self._store.get(seen.id)
        if now is not None and (now.state != seen.state or now.revision != seen.revision):
            self._store.deny(now, actor, f"{action} refused: already {now.state}", self._clock())
            raise StaleCard(
                f"proposal {seen.id} is already {now.state.replace('_', ' ')}", by=now.updated_by
            )

    def _move(
        self,
        seen: Proposal,
        target: ProposalState,
        actor: str,
        reason: str,
        result: ApplyResult | None = None,
        note: str | None = None,
    ) -> Proposal:
        update: dict[str, object] = {
            "state": target,
            "updated_at": self._clock(),
            "updated_by": actor,
            "rejection_reason": note,
        }
        if result is not None:
            update["result"] = result
        if target == S.APPLIED:
            update["applied_revision"] = seen.revision
        return self._save(seen, seen.model_copy(update=update), reason)

    def _save(self, seen: Proposal, new: Proposal, reason: str) -> Proposal:
        try:
            return self._store.transition(seen, new, reason)
        except TransitionConflict as conflict:
            raise StaleCard(
                f"proposal {seen.id} was changed at the same moment (now {conflict.state}, "
                f"revision {conflict.revision}); nothing was done"
            ) from None


def rejection_note(text: str) -> str:
    """A rejection reason as stored (:func:`clean_reason`); too long is an :class:`InputError`."""
    try:
        return clean_reason(text)
    except ReasonTooLong as exc:
        raise InputError(f"the reason is too long: {exc}") from None


def _runs_on(proposal: Proposal) -> str:
    """For the audit trail: deciding a check's revision leaves the applied one running."""
    running = proposal.in_force
    if running is None or running == proposal.revision:
        return ""
    return f"; revision {running} stays applied"


def _round_mebibytes(value: float) -> int:
    mib = 1 << 20
    return int(-(-value // mib) * mib)


def _submitted(result: ApplyResult) -> str:
    change = result.change_request
    assert change is not None
    if change.url:
        return f"pull request {change.url} (branch {change.branch})"
    return f"branch {change.branch} pushed to {change.repo}"


def parse_edit(values: Mapping[str, str], max_replicas: int) -> Sizing:
    """Form strings → :class:`Sizing`; every bad field gets a message saying the rule."""
    errors: dict[str, str] = {}
    text = {k: (values.get(k) or "").strip() for k in EDIT_FIELDS}
    replicas = 0
    if not _REPLICAS.fullmatch(text["replicas"]) or int(text["replicas"]) < 1:
        errors["replicas"] = f"a whole number from 1 to {max_replicas}"
    elif int(text["replicas"]) > max_replicas:
        errors["replicas"] = f"at most {max_replicas} replicas here (1 to {max_replicas})"
    else:
        replicas = int(text["replicas"])
    cpu: dict[str, float | None] = {}
    for name in ("cpu_request", "cpu_limit"):
        if not text[name]:
            cpu[name] = None
            continue
        try:
            cpu[name] = parse_cpu(text[name])
        except QuantityError as exc:
            errors[name] = f"{exc} (CPU: e.g. 250m or 1.5)"
    memory: dict[str, int | None] = {}
    for name in ("memory_request", "memory_limit"):
        if not text[name]:
            memory[name] = None
            continue
        try:
            memory[name] = parse_memory(text[name])
        except QuantityError as exc:
            errors[name] = f"{exc} (memory: e.g. 256Mi or 1Gi)"
    for name in ("cpu_request", "memory_request"):
        if not text[name] and name not in errors:
            errors[name] = "required"
    if cpu.get("cpu_request") == 0:
        errors.setdefault("cpu_request", "must be more than 0")
    if memory.get("memory_request") == 0:
        errors.setdefault("memory_request", "must be more than 0")
    req_c, lim_c = cpu.get("cpu_request"), cpu.get("cpu_limit")
    if req_c is not None and lim_c is not None and lim_c < req_c:
        errors.setdefault("cpu_limit", "the limit must be at least the request")
    req_m, lim_m = memory.get("memory_request"), memory.get("memory_limit")
    if req_m is not None and lim_m is not None and lim_m < req_m:
        errors.setdefault("memory_limit", "the limit must be at least the request")
    if errors:
        raise EditInvalid(errors)
    assert req_c is not None and req_m is not None
    return Sizing(
        replicas=replicas,
        cpu_request=format_cpu(req_c),
        cpu_limit=format_cpu(lim_c) if lim_c is not None else None,
        memory_request=format_memory(req_m),
        memory_limit=format_memory(lim_m) if lim_m is not None else None,
    )


def _capped(rec: Recommendation, wanted: int, namespace: str, cap: int) -> Recommendation:
    """Say plainly that the namespace's replica bound leaves the load under-provisioned."""
    if wanted <= rec.replicas:
        return rec
    warning = Reason(
        field="replicas",
        value=rec.replicas,
        statistic="namespace policy",
        window="access file",
        text=(
            f"under-provisioned: the load calls for {wanted} replicas but {namespace} allows "
            f"at most {cap}; expect CPU saturation at peak unless the platform team raises "
            f"max_replicas for {namespace}"
        ),
    )
    return rec.model_copy(update={"reasons": (*rec.reasons, warning)})
