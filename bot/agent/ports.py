"""What the agent needs from the rest of Sizer, as small protocols with plain data.

The application service, the cluster and Prometheus are adapted to these outside this package
(see :mod:`bot.agent_adapter`), so the agent cannot reach an apply even by accident, and tests
pass doubles through the constructor.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from tools.kube import Fit, NodeRoom, QuotaUse, WorkloadUse
from tools.plain_why import Edit, Numbers
from tools.propose import SizeRequest
from tools.sizing.models import Reason, UsageHistory
from tools.verify import Verification


class Refused(Exception):
    """The proposal service said no; ``str(exc)`` says what to do (shown to the model/user)."""


class NotFoundError(Refused):
    """No such proposal or workload."""


class ProposalView(BaseModel):
    """A stored proposal as the agent may see it: the numbers, reasons and what would change."""

    model_config = ConfigDict(frozen=True)

    id: str
    workload: str
    namespace: str
    state: str
    revision: int
    replicas: int
    cpu_request: str
    cpu_limit: str | None
    memory_request: str
    memory_limit: str | None
    confidence: float
    reasons: tuple[Reason, ...] = ()
    requester: str = ""
    updated_by: str = ""
    applied: bool = False
    manifest_yaml: str = ""
    plan_summary: str = ""
    preflight: tuple[str, ...] = ()
    trail: tuple[str, ...] = ()
    image: str | None = None
    language: str | None = None
    # Who changed which number from what, oldest first, in plain words.
    edits: tuple[Edit, ...] = ()
    # The numbers Sizer first proposed (before anyone edited them).
    proposed: Numbers | None = None


class Proposals(Protocol):
    """Create, read and revise proposals. Deliberately no approve, reject or apply."""

    def size(
        self, request: SizeRequest, requester: str, channel: str, thread_ts: str
    ) -> ProposalView: ...

    def get(self, proposal_id: str) -> ProposalView: ...

    def why(self, target: str) -> ProposalView: ...

    def edit(self, proposal_id: str, actor: str, changes: Mapping[str, str]) -> ProposalView: ...


class Cluster(Protocol):
    def nodes(self) -> list[NodeRoom]: ...

    def quotas(self, namespace: str) -> list[QuotaUse]: ...

    def workloads(self, namespace: str) -> list[WorkloadUse]: ...

    def fit(
        self, namespace: str, replicas: int, cpu_request: float, memory_request: int
    ) -> Fit: ...


class History(Protocol):
    def usage(self, namespace: str, name: str, since_s: int) -> UsageHistory: ...

    def verify(self, namespace: str, name: str, since_s: int) -> Verification: ...
