"""After a GitOps approval: follow the pull request to its merge, and the merge to the cluster.

A ``submitted`` proposal has a branch (and usually a pull request) but nothing applied. The
follower asks the cluster's GitOps executor where the request stands: merged → ``merged``
("the GitOps controller will roll it out"), closed unmerged → ``closed``. A ``merged``
proposal becomes ``applied`` once the workload in the cluster carries the proposal's
annotation (:func:`bot.executors.seen.workload_seen`); ``on_rollout`` is where the feedback
checks start, exactly as they do after a direct apply.

One failing proposal (a provider outage, a deleted repository) is logged and retried on the
next poll; it never stops the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from bot.approvals.models import Proposal, ProposalState
from bot.executors.base import ChangeRequest, ChangeRequestState, Executor
from bot.executors.router import ClusterRouter, UnknownCluster
from bot.service import ProposalService, ServiceError

__all__ = ["Follows", "PullRequestFollower"]

log = logging.getLogger(__name__)
S = ProposalState


@runtime_checkable
class Follows(Protocol):
    def follow(self, change: ChangeRequest) -> ChangeRequestState: ...

    def seen(self, namespace: str, workload: str, proposal_id: str, revision: int) -> bool: ...


class PullRequestFollower:
    def __init__(
        self,
        service: ProposalService,
        executor: Executor,
        on_change: Callable[[Proposal], None] | None = None,
        on_rollout: Callable[[Proposal], None] | None = None,
    ) -> None:
        self.service = service
        self.executor = executor
        self.on_change = on_change
        self.on_rollout = on_rollout

    @property
    def active(self) -> bool:
        """Whether any cluster applies by GitOps (otherwise there is nothing to follow)."""
        if isinstance(self.executor, ClusterRouter):
            return any(isinstance(e, Follows) for e in self.executor.executors.values())
        return isinstance(self.executor, Follows)

    def _for(self, cluster: str | None) -> Follows | None:
        executor = self.executor
        if isinstance(executor, ClusterRouter):
            try:
                executor = executor.for_cluster(cluster)
            except UnknownCluster:
                return None
        return executor if isinstance(executor, Follows) else None

    def poll(self) -> list[Proposal]:
        """Check every followed proposal once; returns those that moved."""
        moved: list[Proposal] = []
        for proposal in self.service.followed():
            try:
                done = self._step(proposal)
            except ServiceError as exc:  # moved by someone else meanwhile: next poll
                log.info("follow %s: %s", proposal.id, exc)
                continue
            except Exception:
                log.exception("follow %s failed; retrying on the next poll", proposal.id)
                continue
            if done is None:
                continue
            moved.append(done)
            for hook in (self.on_change, self.on_rollout if done.state == S.APPLIED else None):
                if hook is not None:
                    try:
                        hook(done)
                    except Exception:
                        log.exception("follow hook failed for %s", done.id)
        return moved

    def _step(self, proposal: Proposal) -> Proposal | None:
        follows = self._for(proposal.cluster)
        result = proposal.result
        if follows is None or result is None or result.change_request is None:
            return None
        if proposal.state == S.SUBMITTED:
            return self.service.record_review(proposal, follows.follow(result.change_request))
        if proposal.state == S.MERGED and follows.seen(
            proposal.namespace, proposal.workload, proposal.id, proposal.revision
        ):
            return self.service.record_rollout(proposal)
        return None
