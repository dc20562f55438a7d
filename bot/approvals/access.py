"""Who may approve what, and how big an edit may make a workload: the access file.

The file (``SIZER_ACCESS_FILE``) is YAML::

    default:                      # namespaces not listed below; omit to refuse them
      approvers: {users: [U012ABC], groups: [S0PLATFORM]}
    namespaces:
      team-a:
        approvers: {users: [U034DEF]}
        self_approval: false      # the requester may not approve their own change (default)
        capacity: {max_replicas: 12, max_pod_cpu: "2", max_pod_memory: 4Gi,
                   cpu: "16", memory: 32Gi}   # cpu/memory: the whole workload's requests
    clusters:                     # with several clusters: rules for one cluster come first
      prod-a:
        default: {approvers: {groups: [S0SRE]}}
        namespaces:
          team-a: {approvers: {users: [U056GHI]}}

For a proposal in cluster ``prod-a``, namespace ``team-a``: the cluster's namespace entry, then
the cluster's default, then the top-level namespace entry, then the top-level default.

Group membership is looked up through a :class:`GroupDirectory` (Slack's user groups in
production), so tests pass a directory instead of patching anything.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Protocol

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from bot.approvals.models import Sizing
from tools.sizing.models import Dns1123Label
from tools.sizing.quantities import parse_cpu, parse_memory

_USER = re.compile(r"^[UW][A-Z0-9]+$")
_GROUP = re.compile(r"^S[A-Z0-9]+$")


def _user(value: str) -> str:
    if not _USER.match(value):
        raise ValueError(f"{value!r} is not a Slack user ID (like U012ABC)")
    return value


def _group(value: str) -> str:
    if not _GROUP.match(value):
        raise ValueError(f"{value!r} is not a Slack user group ID (like S0PLATFORM)")
    return value


def _cpu(value: str) -> str:
    parse_cpu(value)
    return value


def _memory(value: str) -> str:
    parse_memory(value)
    return value


UserId = Annotated[str, AfterValidator(_user)]
GroupId = Annotated[str, AfterValidator(_group)]
CpuQuantity = Annotated[str, AfterValidator(_cpu)]
MemoryQuantity = Annotated[str, AfterValidator(_memory)]


class AccessError(ValueError):
    """The access file cannot be read or is not valid; the message says where."""


class Approvers(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    users: tuple[UserId, ...] = ()
    groups: tuple[GroupId, ...] = ()


class Capacity(BaseModel):
    """Upper bounds an edited proposal must stay within; unset means unbounded."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_replicas: int | None = Field(None, ge=1, le=1000)
    max_pod_cpu: CpuQuantity | None = None
    max_pod_memory: MemoryQuantity | None = None
    cpu: CpuQuantity | None = Field(None, description="replicas × CPU request, whole workload")
    memory: MemoryQuantity | None = Field(None, description="replicas × memory request")

    def problems(self, sizing: Sizing) -> dict[str, str]:
        """Field → what exceeds which bound; empty when the sizing fits."""
        out: dict[str, str] = {}
        if self.max_replicas is not None and sizing.replicas > self.max_replicas:
            out["replicas"] = f"at most {self.max_replicas} replicas fit this namespace"
        cpu_peak = parse_cpu(sizing.cpu_limit or sizing.cpu_request)
        if self.max_pod_cpu is not None and cpu_peak > parse_cpu(self.max_pod_cpu):
            field = "cpu_limit" if sizing.cpu_limit else "cpu_request"
            out[field] = f"a pod may use at most {self.max_pod_cpu} CPU here"
        mem_peak = parse_memory(sizing.memory_limit or sizing.memory_request)
        if self.max_pod_memory is not None and mem_peak > parse_memory(self.max_pod_memory):
            field = "memory_limit" if sizing.memory_limit else "memory_request"
            out[field] = f"a pod may use at most {self.max_pod_memory} memory here"
        total_cpu = sizing.replicas * parse_cpu(sizing.cpu_request)
        if self.cpu is not None and total_cpu > parse_cpu(self.cpu):
            out.setdefault(
                "cpu_request", f"{sizing.replicas} × {sizing.cpu_request} exceeds {self.cpu} CPU"
            )
        total_mem = sizing.replicas * parse_memory(sizing.memory_request)
        if self.memory is not None and total_mem > parse_memory(self.memory):
            out.setdefault(
                "memory_request",
                f"{sizing.replicas} × {sizing.memory_request} exceeds {self.memory} memory",
            )
        return out


class NamespaceAccess(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    approvers: Approvers = Approvers()
    self_approval: bool = False
    capacity: Capacity = Capacity()


class ClusterAccess(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    default: NamespaceAccess | None = None
    namespaces: dict[Dns1123Label, NamespaceAccess] = Field(default_factory=dict)


class AccessConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    default: NamespaceAccess | None = None
    namespaces: dict[Dns1123Label, NamespaceAccess] = Field(default_factory=dict)
    clusters: dict[Dns1123Label, ClusterAccess] = Field(default_factory=dict)

    def for_namespace(self, namespace: str, cluster: str | None = None) -> NamespaceAccess | None:
        own = self.clusters.get(cluster) if cluster else None
        if own is not None:
            found = own.namespaces.get(namespace, own.default)
            if found is not None:
                return found
        return self.namespaces.get(namespace, self.default)


def load_access(path: Path | None) -> AccessConfig:
    """The access file, or an empty config (nobody may approve) when none is set."""
    if path is None:
        return AccessConfig()
    try:
        body = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return AccessConfig.model_validate(body)
    except OSError as exc:
        raise AccessError(f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise AccessError(f"{path} is not valid YAML: {exc}") from None
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"]) or "top level"
        raise AccessError(f"{path}: {where}: {error['msg']}") from None


class GroupDirectory(Protocol):
    def members(self, group_id: str) -> frozenset[str]: ...


class Decision(BaseModel):
    model_config = ConfigDict(frozen=True)

    allowed: bool
    reason: str


def may_approve(
    config: AccessConfig,
    namespace: str,
    actor: str,
    requester: str,
    groups: GroupDirectory,
    *,
    cluster: str | None = None,
) -> Decision:
    """Whether ``actor`` may approve (or reject, or resolve) a change in ``namespace``."""
    rules = config.for_namespace(namespace, cluster)
    if rules is None:
        return Decision(
            allowed=False, reason=f"namespace {namespace} has no approvers in the access file"
        )
    listed = actor in rules.approvers.users or any(
        actor in groups.members(g) for g in rules.approvers.groups
    )
    if not listed:
        who = [f"<@{u}>" for u in rules.approvers.users]
        who += [f"<!subteam^{g}>" for g in rules.approvers.groups]
        names = ", ".join(who) if who else "nobody"
        return Decision(
            allowed=False,
            reason=f"you are not an approver for namespace {namespace}; approvers: {names}",
        )
    if actor == requester and not rules.self_approval:
        return Decision(
            allowed=False,
            reason=f"namespace {namespace} needs someone other than the requester to approve",
        )
    return Decision(allowed=True, reason="approver for " + namespace)
