"""The one settings object: built once at start-up from the environment and passed down.

Settings come in groups, one per part of Sizer (Slack, Redis, Prometheus, the LLM, the
cluster, approvals, the executors, the bot runtime, the peer catalog and the engine's
strategies); each part takes only its group. Every field is read from the environment
variable documented in README.md ("Configuration"); the names are flat (``REDIS_URL``, not
``REDIS__URL``) because they are what operators already set, and the engine's strategy groups
take nested names (``SIZER_POLICY__CPU_LIMIT``, ``SIZER_COLDSTART__OOM_RISK``).

Nothing in Sizer reads the environment anywhere else, and nothing reads it at import time:
:meth:`Settings.load` is called by the command line, once.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tools.sizing.coldstart import ColdStartSettings
from tools.sizing.models import Policy
from tools.sizing.rightsize import RightsizeSettings

if TYPE_CHECKING:
    from tools.prometheus import MetricSchema, PrometheusTarget

__all__ = [
    "ApprovalSettings",
    "CatalogSettings",
    "ClusterSettings",
    "ExecutorSettings",
    "FeedbackSettings",
    "GitOpsSettings",
    "LLMSettings",
    "PrometheusSettings",
    "RedisSettings",
    "RuntimeSettings",
    "Settings",
    "SlackSettings",
    "UnknownSetting",
]

_REPO_ROOT = Path(__file__).resolve().parents[1]


class UnknownSetting(ValueError):
    """A name given to :meth:`Settings.load` that no group reads (a typo, most likely)."""


class _Group(BaseSettings):
    """One group of settings, read from its own flat environment variables."""

    model_config = SettingsConfigDict(
        env_file=None, extra="ignore", frozen=True, env_nested_delimiter="__"
    )

    @classmethod
    def env_names(cls) -> frozenset[str]:
        """The environment variables this group reads."""
        names: set[str] = set()
        for field in cls.model_fields.values():
            alias = field.validation_alias
            if isinstance(alias, str):
                names.add(alias)
            elif isinstance(alias, AliasChoices):
                names.update(str(choice) for choice in alias.choices)
        return frozenset(names)


class SlackSettings(_Group):
    bot_token: SecretStr | None = Field(
        None, validation_alias="SLACK_BOT_TOKEN", description="bot token (xoxb-…) of the Slack app"
    )
    app_token: SecretStr | None = Field(
        None, validation_alias="SLACK_APP_TOKEN", description="app-level token for Socket Mode"
    )
    signing_secret: SecretStr | None = Field(
        None, validation_alias="SLACK_SIGNING_SECRET", description="HTTP mode request signatures"
    )
    api_url: str = Field(
        "https://slack.com/api/",
        validation_alias="SLACK_API_URL",
        description="Slack Web API base (a proxy or test server may stand in)",
    )
    max_retries: int = Field(
        3,
        ge=0,
        le=10,
        validation_alias="SIZER_SLACK_MAX_RETRIES",
        description="retries of a Slack API call answered 429 (after Retry-After)",
    )
    delivery_attempts: int = Field(
        4,
        ge=1,
        le=20,
        validation_alias="SIZER_SLACK_DELIVERY_ATTEMPTS",
        description="tries to post a new card (each with 429 retries) before telling the requester",
    )
    delivery_backoff_s: float = Field(
        2.0,
        ge=0,
        le=300,
        validation_alias="SIZER_SLACK_DELIVERY_BACKOFF_S",
        description="first wait between card tries; doubles after each",
    )
    progress_interval_s: float = Field(
        1.0,
        ge=1.0,
        le=60,
        validation_alias="SIZER_PROGRESS_INTERVAL_S",
        description="least time between two edits of one progress message (Slack allows ~1/s)",
    )

    @property
    def base_url(self) -> str:
        return self.api_url if self.api_url.endswith("/") else self.api_url + "/"


class RedisSettings(_Group):
    url: str = Field(
        "redis://127.0.0.1:6379/0",
        validation_alias="REDIS_URL",
        description="proposals, locks, audit stream, thread memory",
    )
    prefix: str = Field(
        "sizer:",
        min_length=1,
        max_length=64,
        validation_alias="SIZER_REDIS_PREFIX",
        description="prefix of every key Sizer writes",
    )
    require_persistence: bool = Field(
        False,
        validation_alias="SIZER_REDIS_REQUIRE_PERSISTENCE",
        description="refuse to start when Redis has neither AOF nor RDB snapshots (else warn)",
    )


# the variable PrometheusSettings.url is read from, named in errors about that URL
PROMETHEUS_URL_SETTING = "PROMETHEUS_URL"
_HTTP_URL = re.compile(r"https?://[^\s/]+(/\S*)?\Z")


class PrometheusSettings(_Group):
    url: str | None = Field(
        None,
        validation_alias=PROMETHEUS_URL_SETTING,
        description="metrics for history, peers and verification",
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if not value:
            return None  # an empty variable is an unset one
        if not _HTTP_URL.fullmatch(value):
            raise ValueError(
                f"give the server's base URL with its scheme, e.g. http://prometheus:9090 "
                f"(got {value[:80]!r})"
            )
        return value

    timeout_s: float = Field(
        30.0,
        gt=0,
        le=600,
        validation_alias="SIZER_PROMETHEUS_TIMEOUT_S",
        description="timeout of one Prometheus query",
    )
    request_rate_metric: str = Field(
        "http_requests_total",
        validation_alias="SIZER_REQUEST_RATE_METRIC",
        description="counter whose rate is a workload's requests per second",
    )
    scrape_interval_s: int = Field(
        60,
        ge=1,
        le=3600,
        validation_alias="SIZER_PROMETHEUS_SCRAPE_INTERVAL_S",
        description="cAdvisor scrape interval: resolution of per-sample statistics",
    )
    # kube_pod_labels label names (kube-state-metrics prefixes pod labels with "label_")
    app_label: str = Field(
        "label_app",
        validation_alias="SIZER_APP_LABEL",
        description="kube_pod_labels label naming the app (peers, verification)",
    )
    language_label: str = Field(
        "label_language",
        validation_alias="SIZER_LANGUAGE_LABEL",
        description="kube_pod_labels label naming the language (cold-start peers)",
    )
    framework_label: str = Field(
        "label_framework",
        validation_alias="SIZER_FRAMEWORK_LABEL",
        description="kube_pod_labels label naming the framework (cold-start peers)",
    )
    kind_label: str = Field(
        "label_kind",
        validation_alias="SIZER_KIND_LABEL",
        description="kube_pod_labels label naming the kind of service (cold-start peers)",
    )
    team_label: str = Field(
        "label_team",
        validation_alias="SIZER_TEAM_LABEL",
        description="kube_pod_labels label naming the owning team",
    )

    def metric_schema(self) -> MetricSchema:
        """Metric and label names the Prometheus queries use."""
        from tools.prometheus import MetricSchema

        return MetricSchema(
            request_rate_metric=self.request_rate_metric,
            app_label=self.app_label,
            language_label=self.language_label,
            framework_label=self.framework_label,
            kind_label=self.kind_label,
            team_label=self.team_label,
            scrape_interval_s=self.scrape_interval_s,
        )

    def target(self) -> PrometheusTarget | None:
        """``PROMETHEUS_URL``, named as where the URL came from; None when it is not set."""
        from tools.prometheus import PrometheusTarget

        if not self.url:
            return None
        return PrometheusTarget(url=self.url, source=PROMETHEUS_URL_SETTING)


class LLMSettings(_Group):
    """Any OpenAI-compatible endpoint; the built-in planner answers when none is set."""

    api_key: SecretStr | None = Field(
        None, validation_alias="OPENAI_API_KEY", description="key of the OpenAI-compatible endpoint"
    )
    base_url: str | None = Field(
        None,
        validation_alias="OPENAI_BASE_URL",
        description="OpenAI-compatible endpoint; unset: the built-in planner answers",
    )
    model: str = Field(
        "gpt-4o-mini",
        validation_alias="SIZER_LLM_MODEL",
        description="model name sent to the endpoint",
    )
    timeout_s: float = Field(
        60.0,
        gt=0,
        le=600,
        validation_alias="SIZER_LLM_TIMEOUT_S",
        description="timeout of one model call",
    )
    max_steps: int = Field(
        8,
        ge=1,
        le=50,
        validation_alias="SIZER_LLM_MAX_STEPS",
        description="tool steps the agent may take for one message",
    )
    wall_s: float = Field(
        120.0,
        gt=0,
        le=1800,
        validation_alias="SIZER_LLM_WALL_S",
        description="wall time for one message, all model calls and tools included",
    )
    max_retries: int = Field(
        1,
        ge=0,
        le=10,
        validation_alias="SIZER_LLM_MAX_RETRIES",
        description="retries of a failed model call",
    )
    streaming: bool = Field(
        False, validation_alias="SIZER_LLM_STREAMING", description="stream the model's answer"
    )
    fallback: bool = Field(
        True,
        validation_alias="SIZER_LLM_FALLBACK",
        description="answer with the built-in planner when the LLM endpoint fails",
    )
    memory_ttl_s: int = Field(
        86_400,
        ge=60,
        le=30 * 86_400,
        validation_alias="SIZER_AGENT_MEMORY_TTL_S",
        description="how long a thread's conversation is remembered for follow-ups",
    )

    @property
    def configured(self) -> bool:
        return bool(self.base_url or self.api_key)


class ClusterSettings(_Group):
    kubeconfig: Path | None = Field(
        None,
        validation_alias="KUBECONFIG",
        description="cluster to read and apply to (the in-cluster service account otherwise)",
    )
    price_vcpu_hour: float = Field(
        0.0316,
        ge=0,
        le=100,
        validation_alias="SIZER_PRICE_VCPU_HOUR",
        description="cost of one requested vCPU for an hour, for the card's monthly estimate",
    )
    price_gib_hour: float = Field(
        0.0042,
        ge=0,
        le=100,
        validation_alias="SIZER_PRICE_GIB_HOUR",
        description="cost of one requested GiB of memory for an hour, for the estimate",
    )
    price_currency: str = Field(
        "$",
        min_length=1,
        max_length=8,
        validation_alias="SIZER_PRICE_CURRENCY",
        description="symbol or code the estimate is shown in, e.g. € or CHF",
    )
    name: str = Field(
        "default",
        pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$",
        validation_alias="SIZER_CLUSTER_NAME",
        description="the one cluster's name when there is no clusters file (GitOps paths, cards)",
    )
    clusters_file: Path | None = Field(
        None,
        validation_alias="SIZER_CLUSTERS_FILE",
        description="YAML naming several clusters (context, Prometheus, apply mode, GitOps path)",
    )


_GIT_URL = re.compile(r"\A(https://|ssh://|file:///|git@[\w.-]+:)\S+\Z")
_PATH_FIELDS = frozenset({"cluster", "namespace", "name"})


def check_path_template(template: str) -> str:
    """A GitOps path template: relative, only ``{cluster}``, ``{namespace}``, ``{name}``."""
    fields = set(re.findall(r"\{([^{}]*)\}", template))
    unknown = sorted(fields - _PATH_FIELDS)
    if unknown:
        raise ValueError(
            f"unknown placeholder {{{unknown[0]}}}; use {{cluster}}, {{namespace}} and {{name}}"
        )
    if "name" not in fields:
        raise ValueError("the path must contain {name} so each workload has its own file")
    parts = template.split("/")
    if template.startswith("/") or ".." in parts or not template.endswith((".yaml", ".yml")):
        raise ValueError("the path must be relative, without '..', and end in .yaml or .yml")
    return template


class GitOpsSettings(_Group):
    """``gitops`` apply mode: approved changes become commits and pull requests, not applies."""

    apply_mode: Literal["direct", "gitops"] = Field(
        "direct",
        validation_alias="SIZER_APPLY_MODE",
        description="direct: apply to the cluster; gitops: commit, push and open a pull request",
    )
    repo: str | None = Field(
        None,
        validation_alias="SIZER_GITOPS_REPO",
        description="git URL of the GitOps repository (https://, ssh://, file:///)",
    )
    branch: str = Field(
        "main",
        pattern=r"^[A-Za-z0-9._/-]{1,200}$",
        validation_alias="SIZER_GITOPS_BRANCH",
        description="base branch the controller deploys from",
    )
    path: str = Field(
        "{cluster}/{namespace}/{name}.yaml",
        validation_alias="SIZER_GITOPS_PATH",
        description="where a workload's manifest lives in the repository",
    )
    provider: Literal["none", "github", "gitlab"] = Field(
        "none",
        validation_alias="SIZER_GITOPS_PROVIDER",
        description="where pull/merge requests are opened; none: the pushed branch is the result",
    )
    token: SecretStr | None = Field(
        None,
        validation_alias="SIZER_GITOPS_TOKEN",
        description="provider API token (mount it from a Secret)",
    )
    api_url: str | None = Field(
        None,
        validation_alias="SIZER_GITOPS_API_URL",
        description="provider API base; GitHub's or GitLab.com's when unset",
    )
    project: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)+$",
        validation_alias="SIZER_GITOPS_PROJECT",
        description="owner/repo (GitHub) or group/project (GitLab); read from the URL when unset",
    )
    labels: tuple[str, ...] = Field(
        ("sizer",),
        validation_alias="SIZER_GITOPS_LABELS",
        description="labels put on every pull request (JSON list)",
    )
    poll_interval_s: float = Field(
        60.0,
        ge=1,
        le=3600,
        validation_alias="SIZER_GITOPS_POLL_S",
        description="how often open pull requests and merged rollouts are checked",
    )
    author_name: str = Field(
        "Sizer",
        validation_alias="SIZER_GITOPS_AUTHOR_NAME",
        description="author name of the commits Sizer makes",
    )
    author_email: str = Field(
        "sizer@localhost",
        validation_alias="SIZER_GITOPS_AUTHOR_EMAIL",
        description="author email of the commits Sizer makes",
    )
    timeout_s: float = Field(
        30.0,
        gt=0,
        le=600,
        validation_alias="SIZER_GITOPS_TIMEOUT_S",
        description="timeout of one call to the Git host's API",
    )

    @field_validator("repo")
    @classmethod
    def _git_url(cls, value: str | None) -> str | None:
        if value is not None and not _GIT_URL.match(value):
            raise ValueError("use a git URL: https://…, ssh://…, git@host:path or file:///…")
        return value

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        return check_path_template(value)


class ApprovalSettings(_Group):
    access_file: Path | None = Field(
        None,
        validation_alias=AliasChoices("SIZER_ACCESS_FILE", "SIZER_SETTINGS_FILE"),
        description="YAML with approvers and capacity per namespace; unset: nobody may approve",
    )
    proposal_ttl_s: float = Field(
        86_400,
        ge=60,
        le=30 * 86_400,
        validation_alias="SIZER_PROPOSAL_TTL_S",
        description="a proposal not decided within this time expires",
    )
    apply_lock_ttl_s: float = Field(
        30,
        ge=1,
        le=3_600,
        validation_alias="SIZER_APPLY_LOCK_TTL_S",
        description="renewed while an apply runs; a lapsed lock marks an interrupted apply",
    )
    event_dedupe_ttl_s: int = Field(
        3_600,
        ge=60,
        le=86_400,
        validation_alias="SIZER_EVENT_DEDUPE_TTL_S",
        description="how long a Slack event_id is remembered to drop redeliveries",
    )


class ExecutorSettings(_Group):
    """Render, plan, apply: reached only from the approval path."""

    playbooks_dir: Path = Field(
        _REPO_ROOT / "playbooks",
        validation_alias="SIZER_PLAYBOOKS_DIR",
        description="Ansible playbooks that render a workload",
    )
    terraform_dir: Path = Field(
        _REPO_ROOT / "terraform",
        validation_alias="SIZER_TERRAFORM_DIR",
        description="tree holding the root module and the modules it uses",
    )
    terraform_root_module: str = Field(
        "service",
        validation_alias="SIZER_TERRAFORM_ROOT",
        description="root module inside SIZER_TERRAFORM_DIR planned for each proposal",
    )
    terraform_bin: str = Field(
        "sizer-terraform",
        validation_alias="SIZER_TERRAFORM_BIN",
        description="Terraform engine: the bundled engine, or a terraform binary on PATH",
    )
    provider_mirror: Path | None = Field(
        None,
        validation_alias="SIZER_TERRAFORM_PROVIDER_MIRROR",
        description="filesystem mirror the providers come from (the image's); when set, "
        "sizer serve checks at start-up that it holds every provider terraform/ needs",
    )
    terraform_lock_timeout_s: int = Field(
        30,
        ge=0,
        le=600,
        validation_alias="SIZER_TERRAFORM_LOCK_TIMEOUT_S",
        description="how long a plan or apply waits for the state lock",
    )
    work_dir: Path = Field(
        Path("/var/lib/sizer"),
        validation_alias="SIZER_WORK_DIR",
        description="saved plans, Terraform state and render runs; must outlive a restart",
    )
    kubernetes_version: str = Field(
        "1.31",
        pattern=r"^\d+\.\d+$",
        validation_alias="SIZER_KUBERNETES_VERSION",
        description="schema version manifests are validated against",
    )
    field_manager: str = Field(
        "sizer",
        validation_alias="SIZER_FIELD_MANAGER",
        description="server-side apply field manager",
    )
    topology_key: str = Field(
        "kubernetes.io/hostname",
        validation_alias="SIZER_TOPOLOGY_KEY",
        description="node label replicas are spread over (one hypervisor per value)",
    )
    storage_classes: dict[str, str] = Field(
        default_factory=lambda: {"ceph": "ceph-rbd", "nfs": "nfs-client"},
        validation_alias="SIZER_STORAGE_CLASSES",
        description='storage class per backend (JSON: {"ceph": …, "nfs": …})',
    )
    quota_headroom: float = Field(
        1.5,
        ge=1.0,
        le=10.0,
        validation_alias="SIZER_QUOTA_HEADROOM",
        description="namespace quota = largest rollout × this factor",
    )
    rollout_timeout_s: float = Field(
        300.0,
        gt=0,
        le=3600,
        validation_alias="SIZER_ROLLOUT_TIMEOUT_S",
        description="how long a rollout may take before it is rolled back",
    )
    rollout_max_restarts: int = Field(
        2,
        ge=0,
        le=100,
        validation_alias="SIZER_ROLLOUT_MAX_RESTARTS",
        description="container restarts during a rollout before it is rolled back",
    )
    rollback_delete_first: bool = Field(
        True,
        validation_alias=AliasChoices(
            "SIZER_ROLLBACK_DELETE_CREATED", "SIZER_ROLLBACK_DELETE_FIRST"
        ),
        description="on a failed rollout, delete the objects this apply created (false: keep)",
    )


class RuntimeSettings(_Group):
    workers: int = Field(
        4,
        ge=1,
        le=64,
        validation_alias="SIZER_WORKERS",
        description="bot worker threads (Slack work after the ack)",
    )
    worker_queue: int = Field(
        64,
        ge=1,
        le=10_000,
        validation_alias="SIZER_WORKER_QUEUE",
        description="jobs waiting for a worker before new requests are told to retry",
    )
    health_port: int = Field(
        8080,
        ge=0,
        le=65_535,
        validation_alias="SIZER_HEALTH_PORT",
        description="port of /healthz, /readyz and /metrics in either mode (0: any free port)",
    )
    log_format: Literal["text", "json"] = Field(
        "text",
        validation_alias="SIZER_LOG_FORMAT",
        description="json: one object per line, with proposal_id and workload during an apply",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", validation_alias="SIZER_LOG_LEVEL", description="log level"
    )
    sweep_interval_s: float = Field(
        30.0,
        ge=0.1,
        le=3_600,
        validation_alias="SIZER_SWEEP_INTERVAL_S",
        description="how often expiries, interrupted applies and unanswered requests are checked",
    )
    work_lease_s: float = Field(
        60.0,
        ge=1,
        le=3_600,
        validation_alias="SIZER_WORK_LEASE_S",
        description="an accepted request not renewed for this long is resumed by another process",
    )
    work_attempts: int = Field(
        3,
        ge=1,
        le=20,
        validation_alias="SIZER_WORK_ATTEMPTS",
        description="tries to answer an accepted request before telling the person it failed",
    )


class CatalogSettings(_Group):
    history_dir: Path | None = Field(
        None,
        validation_alias="SIZER_HISTORY_DIR",
        description="peer history: a trace directory or catalog JSON; bundled if unset",
    )


class FeedbackSettings(_Group):
    """Checks after an apply, the OOM watch and the peer refresh: rq jobs on the same Redis."""

    enabled: bool = Field(
        True,
        validation_alias="SIZER_CHECKS",
        description="schedule checks after every apply (and watch applied workloads)",
    )
    queue: str = Field(
        "checks",
        pattern=r"^[a-z][a-z0-9-]{0,31}$",
        validation_alias="SIZER_CHECK_QUEUE",
        description="rq queue name (the Redis prefix is prepended)",
    )
    launch_after_s: int = Field(
        3_600,
        ge=60,
        le=86_400,
        validation_alias="SIZER_CHECK_LAUNCH_AFTER_S",
        description="when the launch check runs after an apply",
    )
    report_after_s: int = Field(
        86_400,
        ge=3_600,
        le=7 * 86_400,
        validation_alias="SIZER_CHECK_REPORT_AFTER_S",
        description="when the full report runs after an apply",
    )
    daily_days: int = Field(
        7,
        ge=0,
        le=90,
        validation_alias="SIZER_CHECK_DAILY_DAYS",
        description="daily checks after the full report, for this many days",
    )
    retries: int = Field(
        4,
        ge=0,
        le=20,
        validation_alias="SIZER_CHECK_RETRIES",
        description="retries of a check whose Prometheus does not answer, then 'could not check'",
    )
    retry_base_s: int = Field(
        60,
        ge=0,
        le=3_600,
        validation_alias="SIZER_CHECK_RETRY_BASE_S",
        description="first retry delay; each next one is four times longer",
    )
    rightsize_history_s: int = Field(
        7 * 86_400,
        ge=3_600,
        le=30 * 86_400,
        validation_alias="SIZER_CHECK_RIGHTSIZE_HISTORY_S",
        description="usage a check's right-size or memory raise reads, across revisions (the "
        "goals are judged only since the revision's apply): limits cover the week's peaks",
    )
    watch_interval_s: int = Field(
        300,
        ge=30,
        le=86_400,
        validation_alias="SIZER_WATCH_INTERVAL_S",
        description="how often applied workloads are watched for OOM kills and crash loops",
    )
    crash_loop_restarts: int = Field(
        3,
        ge=1,
        le=100,
        validation_alias="SIZER_CRASH_LOOP_RESTARTS",
        description="restarts, not counting OOM kills, that make a crash loop where Prometheus "
        "has no kube_pod_container_status_waiting_reason (else CrashLoopBackOff decides)",
    )
    peers_refresh_s: int = Field(
        3_600,
        ge=60,
        le=7 * 86_400,
        validation_alias="SIZER_PEERS_REFRESH_S",
        description="how often the peer catalog is rebuilt from Prometheus",
    )
    peers_window_s: int = Field(
        7 * 86_400,
        ge=3_600,
        le=90 * 86_400,
        validation_alias="SIZER_PEERS_WINDOW_S",
        description="history window of the peer catalog built from Prometheus",
    )
    peers_recorded: bool = Field(
        False,
        validation_alias="SIZER_PEERS_RECORDED",
        description="read the recording rules' series instead of evaluating subqueries",
    )
    workers: int = Field(
        1,
        ge=0,
        le=16,
        validation_alias="SIZER_CHECK_WORKERS",
        description="check workers `sizer serve` runs in-process (0: only `sizer worker`)",
    )
    job_timeout_s: int = Field(
        600,
        ge=10,
        le=3_600,
        validation_alias="SIZER_CHECK_TIMEOUT_S",
        description="longest one scheduled check may run",
    )

    def retry_intervals(self) -> list[int]:
        """Backoff of the retries: base, 4×base, 16×base, …"""
        return [self.retry_base_s * 4**i for i in range(self.retries)]

    def offsets(self) -> list[tuple[str, int]]:
        """(check name, seconds after the apply) for every scheduled check."""
        out = [("launch", self.launch_after_s), ("report", self.report_after_s)]
        out += [
            (f"day{d}", self.report_after_s + d * 86_400) for d in range(1, self.daily_days + 1)
        ]
        return out


class _Strategies(_Group):
    """The engine's own settings models, each under its nested prefix."""

    policy: Policy = Field(
        default_factory=Policy,
        validation_alias="SIZER_POLICY",
        description="e.g. SIZER_POLICY__CPU_LIMIT=burst, SIZER_POLICY__MIN_REPLICAS=3",
    )
    coldstart: ColdStartSettings = Field(
        default_factory=ColdStartSettings,
        validation_alias="SIZER_COLDSTART",
        description="e.g. SIZER_COLDSTART__OOM_RISK=0.05",
    )
    rightsize: RightsizeSettings = Field(
        default_factory=RightsizeSettings,
        validation_alias="SIZER_RIGHTSIZE",
        description="e.g. SIZER_RIGHTSIZE__PEAK_HEADROOM_BYTES=0",
    )

    @classmethod
    def nested_names(cls) -> frozenset[str]:
        """``SIZER_POLICY__MIN_REPLICAS`` and the like: one variable per engine setting."""
        names: set[str] = set()
        for field in cls.model_fields.values():
            model = field.annotation
            if isinstance(field.validation_alias, str) and isinstance(model, type):
                names.update(
                    f"{field.validation_alias}__{name.upper()}"
                    for name in getattr(model, "model_fields", {})
                )
        return frozenset(names)


class Settings(BaseModel):
    """Every group, built once; parts take the group they need, never the whole object."""

    model_config = ConfigDict(frozen=True)

    GROUPS: ClassVar[dict[str, type[_Group]]] = {
        "slack": SlackSettings,
        "redis": RedisSettings,
        "prometheus": PrometheusSettings,
        "llm": LLMSettings,
        "cluster": ClusterSettings,
        "approvals": ApprovalSettings,
        "executor": ExecutorSettings,
        "gitops": GitOpsSettings,
        "runtime": RuntimeSettings,
        "catalog": CatalogSettings,
        "feedback": FeedbackSettings,
    }

    slack: SlackSettings = Field(default_factory=SlackSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    prometheus: PrometheusSettings = Field(default_factory=PrometheusSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    cluster: ClusterSettings = Field(default_factory=ClusterSettings)
    approvals: ApprovalSettings = Field(default_factory=ApprovalSettings)
    executor: ExecutorSettings = Field(default_factory=ExecutorSettings)
    gitops: GitOpsSettings = Field(default_factory=GitOpsSettings)
    runtime: RuntimeSettings = Field(default_factory=RuntimeSettings)
    catalog: CatalogSettings = Field(default_factory=CatalogSettings)
    feedback: FeedbackSettings = Field(default_factory=FeedbackSettings)
    policy: Policy = Field(default_factory=Policy)
    coldstart: ColdStartSettings = Field(default_factory=ColdStartSettings)
    rightsize: RightsizeSettings = Field(default_factory=RightsizeSettings)

    @classmethod
    def load(cls, **overrides: Any) -> Settings:
        """Read every group from the environment; ``overrides`` (by variable name) win.

        Raises :class:`UnknownSetting` for an override no group reads, and pydantic's
        ``ValidationError`` (whose location is the variable name) for a bad value.
        """
        known = set(_Strategies.env_names())
        for group in cls.GROUPS.values():
            known |= group.env_names()
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise UnknownSetting(f"no setting is read from {', '.join(unknown)}")
        groups: dict[str, Any] = {name: group(**overrides) for name, group in cls.GROUPS.items()}
        strategies = _Strategies(**overrides)
        return cls(
            **groups,
            policy=strategies.policy,
            coldstart=strategies.coldstart,
            rightsize=strategies.rightsize,
        )

    @classmethod
    def unread(cls, environ: Mapping[str, str]) -> list[tuple[str, str | None]]:
        """``SIZER_*`` variables no setting reads, each with the setting it is closest to.

        A misspelt name is otherwise silently ignored and its default used. The variables
        Kubernetes adds for a Service whose name starts with ``sizer`` (``X_SERVICE_HOST``,
        ``X_SERVICE_PORT…``, ``X_PORT…``) are not settings and are not reported.
        """
        known = cls.env_names() | _Strategies.nested_names()
        services = [n.removesuffix("_SERVICE_HOST") for n in environ if n.endswith("_SERVICE_HOST")]
        out = []
        for name in sorted(environ):
            if not name.startswith("SIZER_") or name in known:
                continue
            if any(name.startswith((f"{x}_SERVICE_", f"{x}_PORT")) for x in services):
                continue
            close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.8)
            out.append((name, close[0] if close else None))
        return out

    @classmethod
    def env_names(cls) -> frozenset[str]:
        """Every environment variable Sizer reads (the configuration reference)."""
        names = set(_Strategies.env_names())
        for group in cls.GROUPS.values():
            names |= group.env_names()
        return frozenset(names)
