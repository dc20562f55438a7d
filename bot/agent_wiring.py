"""Connecting the agent to the application service, the cluster, Prometheus and Slack.

This lives outside :mod:`bot.agent` on purpose: the service module imports the executors, and
the agent package must not (an import contract checks it). Here the service is narrowed to the
agent's :class:`~bot.agent.ports.Proposals` port — size, read, why, edit; never approve — and
the agent's :class:`~bot.agent.answer.Answer` is turned into the Slack thread's reply.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from bot.agent.answer import Agent
from bot.agent.build import build_agent
from bot.agent.history import PrometheusHistory
from bot.agent.memory import ThreadMemory
from bot.agent.ports import Cluster, History, NotFoundError, ProposalView, Refused
from bot.agent.tools import Capabilities
from bot.approvals.models import Proposal
from bot.executors.base import Progress
from bot.service import NotFound, ProposalService, ServiceError
from bot.settings import Settings
from bot.slack import blocks
from bot.slack.responder import Reply
from tools.catalog import PeerCatalog
from tools.propose import SizeRequest

log = logging.getLogger(__name__)


def view_of(proposal: Proposal, applied: bool = False, trail: tuple[str, ...] = ()) -> ProposalView:
    sizing = proposal.current.sizing
    change = proposal.current.change
    return ProposalView(
        id=proposal.id,
        workload=proposal.workload,
        namespace=proposal.namespace,
        state=str(proposal.state),
        revision=proposal.revision,
        replicas=sizing.replicas,
        cpu_request=sizing.cpu_request,
        cpu_limit=sizing.cpu_limit,
        memory_request=sizing.memory_request,
        memory_limit=sizing.memory_limit,
        confidence=proposal.confidence,
        reasons=proposal.reasons,
        requester=proposal.requester,
        updated_by=proposal.updated_by,
        applied=applied,
        manifest_yaml=change.manifest_yaml,
        plan_summary=change.plan_summary,
        preflight=change.preflight,
        trail=trail,
    )


class ServiceProposals:
    """:class:`ProposalService` seen through the agent's port; service refusals become text."""

    def __init__(self, service: ProposalService) -> None:
        self._service = service

    def _guard(self, fn: Callable[[], Proposal]) -> Proposal:
        try:
            return fn()
        except NotFound as exc:
            raise NotFoundError(str(exc)) from None
        except ServiceError as exc:
            raise Refused(str(exc)) from None

    def size(
        self, request: SizeRequest, requester: str, channel: str, thread_ts: str
    ) -> ProposalView:
        made = self._guard(lambda: self._service.size(request, requester, channel, thread_ts))
        return view_of(made)

    def get(self, proposal_id: str) -> ProposalView:
        found = self._guard(lambda: self._service.get(proposal_id))
        trail = tuple(
            f"{e.at} {e.from_state} → {e.to_state} by {e.actor}: {e.reason}"
            for e in self._service.store.audit.entries(proposal=found.id)
        )
        return view_of(found, found.state == "applied", trail)

    def why(self, target: str) -> ProposalView:
        try:
            answer = self._service.why(target)
        except NotFound as exc:
            raise NotFoundError(str(exc)) from None
        except ServiceError as exc:
            raise Refused(str(exc)) from None
        return view_of(answer.proposal, answer.applied)

    def edit(self, proposal_id: str, actor: str, changes: Mapping[str, str]) -> ProposalView:
        current = self._guard(lambda: self._service.get(proposal_id))
        sizing = current.current.sizing
        values = {
            "replicas": str(sizing.replicas),
            "cpu_request": sizing.cpu_request,
            "cpu_limit": sizing.cpu_limit or "",
            "memory_request": sizing.memory_request,
            "memory_limit": sizing.memory_limit or "",
        } | dict(changes)
        edited = self._guard(lambda: self._service.edit(current.card_ref(), actor, values))
        return view_of(edited)


class AgentResponder:
    """The Slack :class:`~bot.slack.responder.Responder` backed by the agent or the planner."""

    def __init__(self, agent: Agent, service: ProposalService) -> None:
        self._agent = agent
        self._service = service

    def respond(
        self, text: str, user: str, channel: str, thread_ts: str, progress: Progress
    ) -> Reply:
        answer = self._agent.respond(text, user, channel, thread_ts)
        if answer.new_card is not None:
            proposal = self._service.get(answer.new_card)
            card = blocks.proposal_card(proposal)
            return Reply(
                text=blocks.clip(answer.text, blocks.MAX_FALLBACK),
                blocks=[blocks.section(answer.text), *card][: blocks.MAX_MESSAGE_BLOCKS],
                new_card=proposal,
            )
        if answer.changed is not None:
            changed = self._service.get(answer.changed)
            return Reply(text=blocks.clip(answer.text, blocks.MAX_FALLBACK), changed=changed)
        return Reply(text=blocks.clip(answer.text, blocks.MAX_FALLBACK))


def cluster_reader(settings: Settings) -> Cluster | None:
    """A read-only reader on the cluster of ``KUBECONFIG``; None when it is not set."""
    if settings.kubeconfig is None:
        return None
    from kubernetes import config

    from tools.kube import KubeReader

    new_client: Callable[..., Any] = config.new_client_from_config
    return KubeReader(new_client(config_file=str(settings.kubeconfig)))


def history_reader(settings: Settings) -> History | None:
    if not settings.prometheus_url:
        return None
    schema = settings.metric_schema()
    return PrometheusHistory(settings.prometheus_url, schema, settings.prometheus_timeout_s)


def capabilities(
    settings: Settings, service: ProposalService | None, catalog: Callable[[], PeerCatalog]
) -> Capabilities:
    return Capabilities(
        catalog=catalog,
        policy=settings.policy,
        proposals=ServiceProposals(service) if service is not None else None,
        cluster=cluster_reader(settings),
        history=history_reader(settings),
    )


def agent_responder(
    settings: Settings,
    service: ProposalService,
    memory: ThreadMemory,
    catalog: Callable[[], PeerCatalog],
) -> AgentResponder:
    """What ``sizer serve`` passes as the Slack runtime's ``responder``."""
    agent = build_agent(settings, capabilities(settings, service, catalog), memory)
    return AgentResponder(agent, service)


def responder_for(settings: Settings, service: ProposalService) -> AgentResponder:
    """Everything from the settings: what the Slack runtime needs once it has its service."""
    import redis as redis_lib

    from tools.catalog import load_catalog

    @cache
    def catalog() -> PeerCatalog:
        return load_catalog(settings.history_dir)

    redis = redis_lib.Redis.from_url(settings.redis_url, decode_responses=True)
    memory = ThreadMemory(redis, settings.redis_prefix, settings.agent_memory_ttl_s)
    return agent_responder(settings, service, memory, catalog)


class _NoGroups:
    """The terminal has no Slack user groups: group rules never match (never approve)."""

    def members(self, group_id: str) -> frozenset[str]:
        return frozenset()


def terminal_service(
    settings: Settings, redis: Any, catalog: Callable[[], PeerCatalog]
) -> tuple[ProposalService | None, str | None]:
    """The proposal service for ``sizer ask``, or None and why (no cluster to render against)."""
    from bot.approvals.access import AccessError, load_access
    from bot.approvals.locks import WorkloadLocks
    from bot.approvals.store import ProposalStore
    from bot.executors import build_executor

    try:
        access = load_access(settings.access_file)
    except AccessError as exc:
        return None, f"SIZER_ACCESS_FILE: {exc}"
    try:
        executor = build_executor(settings)
    except (RuntimeError, OSError, ValueError) as exc:
        return None, f"cannot render proposals here: {exc}"
    prefix = settings.redis_prefix
    service = ProposalService(
        store=ProposalStore(redis, prefix),
        locks=WorkloadLocks(redis, prefix, settings.apply_lock_ttl_s),
        executor=executor,
        access=access,
        groups=_NoGroups(),
        catalog=catalog,
        policy=settings.policy,
        proposal_ttl_s=settings.proposal_ttl_s,
    )
    return service, None
