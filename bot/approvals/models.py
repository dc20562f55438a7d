"""What a proposal is: its states, the allowed moves between them, and its revisions.

A proposal keeps every revision it ever had; edits append a revision and only the newest one
can be approved. ``shown_sha256`` is the fingerprint of exactly what a card displayed, so a
click can be matched against the revision it was made on.
"""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from bot.executors.base import ApplyResult, PreparedChange
from tools.sizing.models import Reason


class ProposalState(StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    APPLYING = "applying"
    APPLIED = "applied"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"
    # gitops mode: pushed (and a pull request opened); then merged or closed unmerged.
    SUBMITTED = "submitted"
    MERGED = "merged"
    CLOSED = "closed"


S = ProposalState

# proposed → proposed is an edit (new revision). approved → failed resolves a proposal whose
# bot died between the approval and the start of the apply. In gitops mode an apply ends
# ``submitted`` (a branch and pull request, nothing applied); the merge moves it to ``merged``
# and the workload showing up in the cluster with the proposal's annotation to ``applied``.
# applied → proposed is a revision a check proposes from the workload's own usage (right-size,
# memory raise): it goes through the same approval again, while the applied revision runs on.
# Such a revision may be rejected, expire, or be rolled back by a failed rollout; what runs is
# still the applied revision (``Proposal.in_force``), so a later check may propose again:
# rejected / expired / rolled_back → proposed, which the service allows only on a proposal
# with an applied revision in force.
TRANSITIONS: dict[ProposalState, frozenset[ProposalState]] = {
    S.PROPOSED: frozenset({S.PROPOSED, S.APPROVED, S.REJECTED, S.EXPIRED}),
    S.APPROVED: frozenset({S.APPLYING, S.FAILED}),
    S.APPLYING: frozenset({S.APPLIED, S.FAILED, S.ROLLED_BACK, S.SUBMITTED}),
    S.SUBMITTED: frozenset({S.MERGED, S.CLOSED}),
    S.MERGED: frozenset({S.APPLIED}),
    S.CLOSED: frozenset(),
    S.REJECTED: frozenset({S.PROPOSED}),
    S.EXPIRED: frozenset({S.PROPOSED}),
    S.APPLIED: frozenset({S.PROPOSED}),
    S.FAILED: frozenset(),
    S.ROLLED_BACK: frozenset({S.PROPOSED}),
}
FINAL = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt) | {
    S.APPLIED,
    S.REJECTED,
    S.EXPIRED,
    S.ROLLED_BACK,
}
INTERRUPTED = frozenset({S.APPROVED, S.APPLYING})
# Waiting on a pull request or on the GitOps controller.
FOLLOWED = frozenset({S.SUBMITTED, S.MERGED})


def allowed(current: ProposalState, target: ProposalState) -> bool:
    return target in TRANSITIONS[current]


class Sizing(BaseModel):
    """Per-pod requests and limits as Kubernetes quantities, plus replicas.

    Each field's title and description are its label and hint in the edit form, which shows
    the fields in this order; a field that defaults to None may be left empty there.
    """

    model_config = ConfigDict(frozen=True)

    replicas: int = Field(ge=1, title="Replicas", description="1 or more")
    cpu_request: str = Field(title="CPU request", description="e.g. 250m or 1.5")
    cpu_limit: str | None = Field(None, title="CPU limit", description="empty: no CPU limit")
    memory_request: str = Field(title="Memory request", description="e.g. 256Mi or 1Gi")
    memory_limit: str | None = Field(None, title="Memory limit", description="e.g. 512Mi")

    def changes_from(self, other: Sizing) -> list[str]:
        """``field old → new`` for every field that differs, for audit reasons and cards."""
        out = []
        for name in type(self).model_fields:
            old, new = getattr(other, name), getattr(self, name)
            if old != new:
                out.append(
                    f"{name} {old if old is not None else 'none'} → "
                    f"{new if new is not None else 'none'}"
                )
        return out


class Prices(BaseModel):
    """Unit prices a cost estimate was made with, kept with the revision it was shown on."""

    model_config = ConfigDict(frozen=True)

    vcpu_hour: float = Field(ge=0)
    gib_hour: float = Field(ge=0)
    currency: str = Field("$", max_length=8)


class Revision(BaseModel):
    model_config = ConfigDict(frozen=True)

    number: int = Field(ge=1)
    sizing: Sizing
    change: PreparedChange
    shown_sha256: str
    author: str
    created_at: float
    note: str = ""
    prices: Prices | None = None


def shown_hash(
    proposal_id: str,
    number: int,
    workload: str,
    namespace: str,
    sizing: Sizing,
    change: PreparedChange,
    cluster: str | None = None,
) -> str:
    """sha256 over everything a card shows for one revision, in a canonical encoding."""
    body: dict[str, object] = {
        "proposal": proposal_id,
        "revision": number,
        "workload": workload,
        "namespace": namespace,
        "sizing": sizing.model_dump(),
        "manifest_sha256": change.manifest_sha256,
        "plan_sha256": change.plan_sha256,
        "plan_summary": change.plan_summary,
        "objects": list(change.objects),
    }
    # Only present when set, so cards made before clusters and GitOps keep their hash.
    if cluster is not None:
        body["cluster"] = cluster
    if change.git_base is not None:
        base = change.git_base
        body["git"] = {"repo": base.repo, "branch": base.branch, "path": base.path}
    encoded = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()


class CardRef(BaseModel):
    """What a button or modal carries back: which proposal, which revision, what was shown."""

    model_config = ConfigDict(frozen=True)

    proposal_id: str = Field(alias="p", max_length=64)
    revision: int = Field(alias="r", ge=1)
    shown_sha256: str = Field(alias="h", max_length=64)

    def encode(self) -> str:
        return json.dumps(self.model_dump(by_alias=True), separators=(",", ":"))

    @classmethod
    def decode(cls, text: str) -> CardRef:
        return cls.model_validate_json(text)


class Proposal(BaseModel):
    """One sizing proposal for one workload and everything that happened to it."""

    model_config = ConfigDict(frozen=True)

    id: str
    workload: str
    namespace: str
    requester: str
    state: ProposalState = S.PROPOSED
    revisions: tuple[Revision, ...]
    confidence: float = Field(ge=0, le=1)
    reasons: tuple[Reason, ...] = ()
    request: dict[str, object] = Field(default_factory=dict)
    created_at: float
    expires_at: float
    updated_at: float
    updated_by: str
    channel: str | None = None
    thread_ts: str | None = None
    message_ts: str | None = Field(None, description="the card, once posted; kept apart")
    result: ApplyResult | None = None
    cluster: str | None = Field(None, description="the cluster it is for; None: the only one")
    applied_revision: int | None = Field(
        None, description="the revision last applied, kept while later ones are decided"
    )
    rejection_reason: str | None = Field(
        None, description="why the current revision was rejected, in the rejecter's words"
    )

    @property
    def revision(self) -> int:
        return self.revisions[-1].number

    @property
    def in_force(self) -> int | None:
        """The revision running in the cluster, or None if none of them was ever applied.

        Applied proposals stored before ``applied_revision`` existed run their last revision.
        """
        if self.applied_revision is not None:
            return self.applied_revision
        return self.revision if self.state == S.APPLIED else None

    @property
    def current(self) -> Revision:
        return self.revisions[-1]

    def card_ref(self) -> CardRef:
        return CardRef(p=self.id, r=self.revision, h=self.current.shown_sha256)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.workload}"
