"""The composition root: every long-lived part of Sizer is built here, once, from the settings.

``sizer serve``, ``sizer ask`` and the tests build a :class:`Components` and take what they
need from it; nothing else constructs Redis clients, the catalog, the Prometheus or cluster
readers, the executor or the :class:`~bot.service.ProposalService`. Each part is built on
first use (so ``sizer ask`` never loads the Slack SDK and ``sizer propose`` never loads
Redis), and each takes only its settings group.

Tests pass doubles through the constructor — an executor, a Redis client, a clock — exactly
where production passes real ones.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from bot.approvals.access import AccessConfig, AccessError, GroupDirectory, load_access
from bot.settings import Settings

if TYPE_CHECKING:
    import redis as redis_lib
    from rq import Queue

    from bot.agent.answer import Agent
    from bot.agent.memory import ThreadMemory
    from bot.agent.ports import Cluster, History
    from bot.agent.toolsets import Capabilities
    from bot.agent_adapter import AgentResponder
    from bot.approvals.models import Proposal
    from bot.clusters import ClusterSet
    from bot.executors.base import Executor
    from bot.feedback.checker import Checker, ThreadPoster
    from bot.feedback.jobs import FeedbackRuntime
    from bot.feedback.outcomes import OutcomeStore
    from bot.feedback.peers import ClusterCatalog
    from bot.feedback.schedule import CheckScheduler
    from bot.feedback.worker import CheckRunner
    from bot.follow import PullRequestFollower
    from bot.service import LiveUsage, ProposalService
    from tools.catalog import PeerCatalog
    from tools.prometheus import PrometheusTarget
    from tools.propose import SizeRequest
    from tools.sizing.outcomes import PeerPrediction

__all__ = ["Components", "NoGroups", "StartupError", "connect_redis", "redacted"]


class StartupError(Exception):
    """A part cannot be built; the one-line message names the setting to fix."""


class NoGroups:
    """Where there is no Slack (the terminal), group rules never match: they never approve."""

    def members(self, group_id: str) -> frozenset[str]:
        return frozenset()


def redacted(url: str) -> str:
    """``url`` with its password replaced, for messages and logs."""
    parts = urlsplit(url)
    if parts.password:
        host = parts.hostname or ""
        netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def connect_redis(url: str) -> redis_lib.Redis:
    """A client that answered PING, or :class:`StartupError` naming ``REDIS_URL``."""
    import redis as redis_lib

    try:
        client = redis_lib.Redis.from_url(url, decode_responses=True)
        client.ping()
    except (redis_lib.RedisError, ValueError) as exc:
        raise StartupError(f"REDIS_URL {redacted(url)}: {exc}") from None
    return client


class Components:
    """Sizer's object graph. Every attribute is built on first use and then shared."""

    def __init__(
        self,
        settings: Settings,
        *,
        redis: redis_lib.Redis | None = None,
        access: AccessConfig | None = None,
        executor: Executor | None = None,
        build_executor: Callable[[Settings], Executor] | None = None,
        groups: GroupDirectory | None = None,
        cluster: Cluster | None = None,
        history: History | None = None,
        live_usage: LiveUsage | None = None,
        poster: ThreadPoster | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self._redis = redis
        self._access = access
        self._executor = executor
        self._build_executor = build_executor
        self._groups = groups
        self._cluster = cluster
        self._history = history
        self._live_usage = live_usage
        self._cluster_catalogs: dict[str, PeerCatalog] = {}
        self._readers: dict[str, Cluster] = {}
        self._histories: dict[str, History] = {}
        self._poster = poster

    # -- state -----------------------------------------------------------------------------

    @cached_property
    def redis(self) -> redis_lib.Redis:
        return self._redis if self._redis is not None else connect_redis(self.settings.redis.url)

    @cached_property
    def access(self) -> AccessConfig:
        if self._access is not None:
            return self._access
        try:
            return load_access(self.settings.approvals.access_file)
        except AccessError as exc:
            raise StartupError(f"SIZER_ACCESS_FILE: {exc}") from None

    @cached_property
    def clusters(self) -> ClusterSet:
        """The clusters file, or the one cluster of ``KUBECONFIG`` (zero configuration)."""
        from bot.clusters import ClustersError, load_clusters

        settings = self.settings
        try:
            return load_clusters(settings.cluster, settings.prometheus, settings.gitops)
        except ClustersError as exc:
            raise StartupError(f"SIZER_CLUSTERS_FILE: {exc}") from None

    # -- evidence --------------------------------------------------------------------------

    @cached_property
    def catalog(self) -> PeerCatalog:
        """The peer history, loaded once (its peak calibration is cached on it)."""
        from tools.catalog import load_catalog

        return load_catalog(self.settings.catalog.history_dir)

    def catalog_source(self) -> Callable[[], PeerCatalog]:
        """The catalog as a deferred read, for parts that may never need it: with
        ``PROMETHEUS_URL`` the cluster's peers (cached in Redis), else the history above."""
        if self.settings.prometheus.url and self.settings.catalog.history_dir is None:
            return lambda: self.peer_catalog.current()
        return lambda: self.catalog

    @cached_property
    def peer_catalog(self) -> ClusterCatalog:
        from bot.feedback.peers import ClusterCatalog

        return ClusterCatalog(
            self.redis,
            self.settings.redis.prefix,
            self.settings.prometheus,
            self.settings.feedback,
            lambda: self.catalog,
            self.clock,
        )

    @cached_property
    def cluster(self) -> Cluster | None:
        """A read-only reader on the cluster of ``KUBECONFIG``; None when it is not set."""
        if self._cluster is not None:
            return self._cluster
        clusters = self.clusters
        if clusters.from_file:
            return self.cluster_reader(clusters.default or clusters.names[0])
        kubeconfig = self.settings.cluster.kubeconfig
        if kubeconfig is None:
            return None
        from kubernetes import config

        from tools.kube import KubeReader

        new_client: Callable[..., Any] = config.new_client_from_config
        try:
            api = new_client(config_file=str(kubeconfig))
        except (config.ConfigException, OSError) as exc:
            raise StartupError(f"KUBECONFIG {kubeconfig}: {exc}") from None
        return KubeReader(api)

    def cluster_reader(self, name: str) -> Cluster:
        """A read-only reader on one cluster of the clusters file, built once."""
        if name not in self._readers:
            from kubernetes import client, config

            from tools.kube import KubeReader

            spec = self.clusters.get(name)
            try:
                if spec.in_cluster:
                    configuration = client.Configuration()
                    config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
                    api = client.ApiClient(configuration)
                else:
                    path = str(spec.kubeconfig) if spec.kubeconfig else None
                    api = config.new_client_from_config(  # type: ignore[no-untyped-call]
                        config_file=path, context=spec.context
                    )
            except (config.ConfigException, OSError) as exc:
                raise StartupError(f"SIZER_CLUSTERS_FILE: cluster {name}: {exc}") from None
            self._readers[name] = KubeReader(api)
        return self._readers[name]

    def history_for(self, name: str) -> History | None:
        """One cluster's own Prometheus history; None when the clusters file names none."""
        spec = self.clusters.get(name)
        if spec.prometheus_url is None:
            return None
        if name not in self._histories:
            from bot.agent.history import PrometheusHistory
            from tools.prometheus import PrometheusTarget

            prometheus = self.settings.prometheus
            target = PrometheusTarget(
                url=spec.prometheus_url, source=self.clusters.prometheus_source(name)
            )
            self._histories[name] = PrometheusHistory(
                target, prometheus.metric_schema(), prometheus.timeout_s
            )
        return self._histories[name]

    @cached_property
    def history(self) -> History | None:
        """The workloads' own history from Prometheus; None without ``PROMETHEUS_URL``."""
        if self._history is not None:
            return self._history
        clusters = self.clusters
        if clusters.from_file:
            return self.history_for(clusters.default or clusters.names[0])
        prometheus = self.settings.prometheus
        target = prometheus.target()
        if target is None:
            return None
        from bot.agent.history import PrometheusHistory

        return PrometheusHistory(target, prometheus.metric_schema(), prometheus.timeout_s)

    @cached_property
    def live_usage(self) -> LiveUsage | None:
        if self._live_usage is not None:
            return self._live_usage
        if not self.settings.prometheus.url:
            return None
        from bot.slack.usage import prometheus_usage

        return prometheus_usage(self.settings.prometheus)

    # -- acting ----------------------------------------------------------------------------

    @cached_property
    def executor(self) -> Executor:
        """The executor given, or the real one on the configured cluster."""
        if self._executor is not None:
            return self._executor
        clusters = self.clusters
        build = self._build_executor or _real_executor
        if self._build_executor is None and (
            clusters.from_file or clusters.clusters[0].apply_mode == "gitops"
        ):
            build = functools.partial(_fleet_executor, clusters=clusters)
        try:
            return build(self.settings)
        except (RuntimeError, OSError, ValueError) as exc:
            raise StartupError(f"executor: {exc}") from None

    @cached_property
    def groups(self) -> GroupDirectory:
        return self._groups if self._groups is not None else NoGroups()

    @cached_property
    def service(self) -> ProposalService:
        from bot.approvals.locks import WorkloadLocks
        from bot.approvals.models import Prices
        from bot.approvals.store import ProposalStore
        from bot.service import ProposalService

        prefix = self.settings.redis.prefix
        cluster = self.settings.cluster
        approvals = self.settings.approvals
        # Where a proposal naming no cluster is applied (the router's default).
        default = self.clusters.default or self.clusters.names[0]
        return ProposalService(
            store=ProposalStore(self.redis, prefix, default),
            locks=WorkloadLocks(self.redis, prefix, approvals.apply_lock_ttl_s, default),
            executor=self.executor,
            access=self.access,
            groups=self.groups,
            catalog=self.catalog_source(),
            policy=self.settings.policy,
            coldstart=self.settings.coldstart,
            proposal_ttl_s=approvals.proposal_ttl_s,
            clock=self.clock,
            live_usage=self.live_usage,
            prices=Prices(
                vcpu_hour=cluster.price_vcpu_hour,
                gib_hour=cluster.price_gib_hour,
                currency=cluster.price_currency,
            ),
            clusters=self.clusters,
            cluster_catalog=self.cluster_catalog,
            on_applied=self._schedule_checks if self.settings.feedback.enabled else None,
            learned=self.outcomes.calibration if self.settings.feedback.enabled else None,
        )

    # -- checks after an apply ---------------------------------------------------------------

    def _schedule_checks(self, proposal: Proposal) -> None:
        self.check_scheduler.applied(proposal)

    @cached_property
    def rq_redis(self) -> redis_lib.Redis:
        """rq stores pickled jobs, so its client returns bytes (same server, same database)."""
        import redis as redis_lib

        pool = self.redis.connection_pool
        kwargs = {**pool.connection_kwargs, "decode_responses": False}
        return redis_lib.Redis(
            connection_pool=redis_lib.ConnectionPool(
                connection_class=pool.connection_class, **kwargs
            )
        )

    @cached_property
    def check_queue(self) -> Queue:
        from rq import Queue

        name = self.settings.redis.prefix + self.settings.feedback.queue
        return Queue(name, connection=self.rq_redis)

    @cached_property
    def outcomes(self) -> OutcomeStore:
        from bot.feedback.outcomes import OutcomeStore

        return OutcomeStore(self.redis, self.settings.redis.prefix, self._peer_prediction)

    def _peer_prediction(self, request: SizeRequest) -> PeerPrediction | None:
        """What the peers predicted for a request, kept with its outcome to learn from."""
        from tools.propose import peer_prediction

        return peer_prediction(request, self.catalog, self.settings.policy, self.settings.coldstart)

    @cached_property
    def check_scheduler(self) -> CheckScheduler:
        from bot.feedback.schedule import CheckScheduler

        return CheckScheduler(
            self.check_queue,
            self.redis,
            self.settings.redis.prefix,
            self.settings.feedback,
            self.outcomes,
            self.clock,
        )

    @cached_property
    def poster(self) -> ThreadPoster:
        """Where reports go: the proposals' Slack threads."""
        if self._poster is not None:
            return self._poster
        from bot.feedback.slack import SlackThreads
        from bot.slack.app import web_client

        return SlackThreads(web_client(self.settings.slack), self.service)

    @cached_property
    def checker(self) -> Checker:
        from bot.feedback.checker import Checker

        applied = self.check_scheduler.applied_revisions
        return Checker(
            service=self.service,
            redis=self.redis,
            prefix=self.settings.redis.prefix,
            prometheus=self.settings.prometheus,
            feedback=self.settings.feedback,
            policy=self.settings.policy,
            rightsize=self.settings.rightsize,
            poster=self.poster,
            outcomes=self.outcomes,
            applied_revision=applied.revision,
            applied=applied.all,
            prometheus_for=self.prometheus_target,
            superseded_by=applied.superseded_by,
        )

    def prometheus_target(self, cluster: str) -> PrometheusTarget | None:
        """One cluster's Prometheus and where its URL was set: its ``prometheus_url`` in the
        clusters file; for the default cluster without one, ``PROMETHEUS_URL``; None for a
        cluster that has none (or is no longer in the file)."""
        from tools.prometheus import PrometheusTarget

        clusters = self.clusters
        try:
            spec = clusters.get(cluster)
        except ValueError:
            return None
        if spec.prometheus_url:
            source = clusters.prometheus_source(cluster)
            return PrometheusTarget(url=spec.prometheus_url, source=source)
        if cluster == (clusters.default or clusters.names[0]):
            return self.settings.prometheus.target()
        return None

    @cached_property
    def feedback_runtime(self) -> FeedbackRuntime:
        from bot.feedback.jobs import FeedbackRuntime

        peers = self.peer_catalog if self.settings.prometheus.url else None
        return FeedbackRuntime(self.checker, self.check_scheduler, peers, self.clock)

    def check_runner(self, workers: int | None = None) -> CheckRunner:
        """rq's scheduler and ``workers`` check workers (default ``SIZER_CHECK_WORKERS``)."""
        from bot.feedback.worker import CheckRunner

        count = self.settings.feedback.workers if workers is None else workers
        return CheckRunner(self.check_queue, self.rq_redis, self.feedback_runtime, count)

    def cluster_catalog(self, cluster: str) -> PeerCatalog:
        """Peers for a change in ``cluster``: its own history first, then the shared catalog."""
        if cluster not in self._cluster_catalogs:
            spec = self.clusters.get(cluster)
            if spec.history is None:
                return self.catalog
            from bot.clusters import cluster_first
            from tools.catalog import load_catalog

            own = load_catalog(spec.history)
            self._cluster_catalogs[cluster] = cluster_first(own, self.catalog, cluster)
        return self._cluster_catalogs[cluster]

    @cached_property
    def follower(self) -> PullRequestFollower:
        """Follows GitOps pull requests to their merge and the rollout to the cluster."""
        from bot.follow import PullRequestFollower

        return PullRequestFollower(self.service, self.executor)

    # -- talking ---------------------------------------------------------------------------

    @cached_property
    def memory(self) -> ThreadMemory:
        from bot.agent.memory import ThreadMemory

        redis = self.settings.redis
        return ThreadMemory(self.redis, redis.prefix, self.settings.llm.memory_ttl_s)

    def capabilities(
        self, service: ProposalService | None, proposals_off: str | None = None
    ) -> Capabilities:
        """What the agent may call: read, size, explain and — with a service — propose;
        ``proposals_off`` says why there is no service, where a proposal would be stored."""
        from bot.agent.toolsets import Capabilities
        from bot.agent_adapter import ServiceProposals

        return Capabilities(
            catalog=self.catalog_source(),
            policy=self.settings.policy,
            coldstart=self.settings.coldstart,
            proposals=ServiceProposals(service) if service is not None else None,
            cluster=self.cluster,
            history=self.history,
            proposals_off=proposals_off,
        )

    def agent(
        self,
        service: ProposalService | None,
        *,
        offline: bool = False,
        proposals_off: str | None = None,
    ) -> Agent:
        from bot.agent.build import build_agent

        caps = self.capabilities(service, proposals_off)
        return build_agent(self.settings.llm, caps, self.memory, offline=offline)

    def agent_responder(self) -> AgentResponder:
        """Mentions and DMs in Slack: the agent over the service (LLM or built-in planner)."""
        from bot.agent_adapter import AgentResponder

        return AgentResponder(self.agent(self.service), self.service)


def _fleet_executor(settings: Settings, *, clusters: ClusterSet) -> Executor:
    from bot.executors import build_fleet

    return build_fleet(settings.executor, settings.gitops, clusters)


def _real_executor(settings: Settings) -> Executor:
    from bot.executors import build_executor

    return build_executor(settings.executor, settings.cluster)
