"""Which Redis slot a workload's pointer and apply lock use: one per cluster.

The same namespace and name may live in several clusters, and each is its own workload. The
default cluster — where a proposal naming no cluster goes — keeps the slot earlier versions
wrote, ``{namespace}/{name}``, so an install that upgrades finds its pointers where they are
(and a single-cluster install never sees a new key); any other cluster's slot ends in
``@{cluster}``, as the audit trail writes it.
"""

from __future__ import annotations

__all__ = ["split_member", "workload_member", "workload_slot"]


def _named(cluster: str | None, default: str | None) -> str | None:
    """The cluster a slot names, or None for the default one."""
    return None if cluster is None or cluster == default else cluster


def workload_slot(namespace: str, workload: str, cluster: str | None, default: str | None) -> str:
    named = _named(cluster, default)
    return f"{namespace}/{workload}" + (f"@{named}" if named else "")


def workload_member(namespace: str, cluster: str | None, default: str | None) -> str:
    """What the ``names:{workload}`` index holds for one workload: its namespace and cluster."""
    named = _named(cluster, default)
    return namespace + (f"@{named}" if named else "")


def split_member(member: str) -> tuple[str, str | None]:
    """A ``names:`` member back to (namespace, cluster); None is the default cluster."""
    namespace, _, cluster = member.partition("@")
    return namespace, cluster or None
