"""Several clusters behind one executor: each change goes to the executor of its cluster.

The approval path keeps talking to one :class:`~bot.executors.base.Executor`; the router sends
``prepare`` and ``apply`` to the cluster the proposal names, so a change for one cluster can
never reach another.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.executors.base import (
    ApplyRequest,
    ApplyResult,
    Executor,
    PreparedChange,
    PrepareRequest,
    Progress,
)

__all__ = ["ClusterRouter", "UnknownCluster"]


class UnknownCluster(ValueError):
    """A change names a cluster this Sizer has no executor for."""


class ClusterRouter:
    def __init__(self, executors: Mapping[str, Executor], default: str | None = None) -> None:
        if not executors:
            raise ValueError("a router needs at least one cluster")
        self.executors = dict(executors)
        self.default = default if default is not None else next(iter(self.executors))

    def for_cluster(self, name: str | None) -> Executor:
        key = name or self.default
        try:
            return self.executors[key]
        except KeyError:
            known = ", ".join(self.executors)
            raise UnknownCluster(f"no cluster {key!r} is configured; known: {known}") from None

    def prepare(self, request: PrepareRequest) -> PreparedChange:
        return self.for_cluster(request.cluster).prepare(request)

    def apply(self, request: ApplyRequest, progress: Progress) -> ApplyResult:
        return self.for_cluster(request.cluster).apply(request, progress)
