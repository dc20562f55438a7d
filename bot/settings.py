"""The one settings object: built once at start-up from the environment and passed down.

Nothing in Sizer reads the environment anywhere else, and nothing reads it at import time.
Field names are the documented environment variables (see README.md, "Configuration").
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from tools.prometheus import MetricSchema
from tools.sizing.models import Policy

_REPO_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=None, extra="ignore", frozen=True, env_nested_delimiter="__"
    )

    # Slack
    slack_bot_token: SecretStr | None = Field(None, validation_alias="SLACK_BOT_TOKEN")
    slack_app_token: SecretStr | None = Field(None, validation_alias="SLACK_APP_TOKEN")
    slack_signing_secret: SecretStr | None = Field(None, validation_alias="SLACK_SIGNING_SECRET")
    slack_api_url: str = Field("https://slack.com/api/", validation_alias="SLACK_API_URL")

    # State and metrics
    redis_url: str = Field("redis://127.0.0.1:6379/0", validation_alias="REDIS_URL")
    prometheus_url: str | None = Field(None, validation_alias="PROMETHEUS_URL")
    request_rate_metric: str = Field(
        "http_requests_total", validation_alias="SIZER_REQUEST_RATE_METRIC"
    )
    prometheus_timeout_s: float = Field(
        30.0, gt=0, le=600, validation_alias="SIZER_PROMETHEUS_TIMEOUT_S"
    )
    prometheus_scrape_interval_s: int = Field(
        60,
        ge=1,
        le=3600,
        validation_alias="SIZER_PROMETHEUS_SCRAPE_INTERVAL_S",
        description="cAdvisor scrape interval: resolution of per-sample statistics",
    )
    # kube_pod_labels label names (kube-state-metrics prefixes pod labels with "label_")
    app_label: str = Field("label_app", validation_alias="SIZER_APP_LABEL")
    language_label: str = Field("label_language", validation_alias="SIZER_LANGUAGE_LABEL")
    framework_label: str = Field("label_framework", validation_alias="SIZER_FRAMEWORK_LABEL")
    kind_label: str = Field("label_kind", validation_alias="SIZER_KIND_LABEL")
    team_label: str = Field("label_team", validation_alias="SIZER_TEAM_LABEL")

    # LLM (the built-in planner is used when no base URL or key is set)
    openai_api_key: SecretStr | None = Field(None, validation_alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(None, validation_alias="OPENAI_BASE_URL")
    llm_model: str = Field("gpt-4o-mini", validation_alias="SIZER_LLM_MODEL")
    llm_timeout_s: float = Field(60.0, gt=0, le=600, validation_alias="SIZER_LLM_TIMEOUT_S")
    llm_max_steps: int = Field(8, ge=1, le=50, validation_alias="SIZER_LLM_MAX_STEPS")
    llm_wall_s: float = Field(
        120.0,
        gt=0,
        le=1800,
        validation_alias="SIZER_LLM_WALL_S",
        description="wall time for one message, all model calls and tools included",
    )
    llm_max_retries: int = Field(1, ge=0, le=10, validation_alias="SIZER_LLM_MAX_RETRIES")
    llm_streaming: bool = Field(False, validation_alias="SIZER_LLM_STREAMING")
    llm_fallback: bool = Field(
        True,
        validation_alias="SIZER_LLM_FALLBACK",
        description="answer with the built-in planner when the LLM endpoint fails",
    )
    agent_memory_ttl_s: int = Field(
        86_400,
        ge=60,
        le=30 * 86_400,
        validation_alias="SIZER_AGENT_MEMORY_TTL_S",
        description="how long a thread's conversation is remembered for follow-ups",
    )

    # Cluster
    kubeconfig: Path | None = Field(None, validation_alias="KUBECONFIG")
    access_file: Path | None = Field(
        None,
        validation_alias=AliasChoices("SIZER_ACCESS_FILE", "SIZER_SETTINGS_FILE"),
        description="YAML with approvers and namespaces",
    )

    # Sizing
    history_dir: Path | None = Field(
        None, validation_alias="SIZER_HISTORY_DIR", description="trace directory; bundled if unset"
    )
    policy: Policy = Field(
        default_factory=Policy,
        validation_alias="SIZER_POLICY",
        description="e.g. SIZER_POLICY__CPU_LIMIT=burst, SIZER_POLICY__MIN_REPLICAS=3",
    )

    # Executors (render, plan, apply): reached only from the approval path
    playbooks_dir: Path = Field(_REPO_ROOT / "playbooks", validation_alias="SIZER_PLAYBOOKS_DIR")
    terraform_dir: Path = Field(
        _REPO_ROOT / "terraform",
        validation_alias="SIZER_TERRAFORM_DIR",
        description="tree holding the root module and the modules it uses",
    )
    terraform_root_module: str = Field("service", validation_alias="SIZER_TERRAFORM_ROOT")
    terraform_bin: str = Field("terraform", validation_alias="SIZER_TERRAFORM_BIN")
    terraform_lock_timeout_s: int = Field(
        30, ge=0, le=600, validation_alias="SIZER_TERRAFORM_LOCK_TIMEOUT_S"
    )
    work_dir: Path = Field(
        Path("/var/lib/sizer"),
        validation_alias="SIZER_WORK_DIR",
        description="saved plans, Terraform state and render runs; must outlive a restart",
    )
    kubernetes_version: str = Field(
        "1.31", pattern=r"^\d+\.\d+$", validation_alias="SIZER_KUBERNETES_VERSION"
    )
    field_manager: str = Field("sizer", validation_alias="SIZER_FIELD_MANAGER")
    topology_key: str = Field("kubernetes.io/hostname", validation_alias="SIZER_TOPOLOGY_KEY")
    storage_classes: dict[str, str] = Field(
        default_factory=lambda: {"ceph": "ceph-rbd", "nfs": "nfs-client"},
        validation_alias="SIZER_STORAGE_CLASSES",
    )
    quota_headroom: float = Field(1.5, ge=1.0, le=10.0, validation_alias="SIZER_QUOTA_HEADROOM")
    rollout_timeout_s: float = Field(
        300.0, gt=0, le=3600, validation_alias="SIZER_ROLLOUT_TIMEOUT_S"
    )
    rollout_max_restarts: int = Field(
        2, ge=0, le=100, validation_alias="SIZER_ROLLOUT_MAX_RESTARTS"
    )
    rollback_delete_first: bool = Field(
        False,
        validation_alias="SIZER_ROLLBACK_DELETE_FIRST",
        description="on a failed first rollout, delete what was created instead of leaving it",
    )

    # Bot runtime
    workers: int = Field(4, ge=1, le=64, validation_alias="SIZER_WORKERS")
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
        "INFO", validation_alias="SIZER_LOG_LEVEL"
    )

    # Approvals and Slack delivery
    redis_prefix: str = Field(
        "sizer:", min_length=1, max_length=64, validation_alias="SIZER_REDIS_PREFIX"
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
    slack_max_retries: int = Field(
        3,
        ge=0,
        le=10,
        validation_alias="SIZER_SLACK_MAX_RETRIES",
        description="retries of a Slack API call answered 429 (after Retry-After)",
    )
    worker_queue: int = Field(
        64,
        ge=1,
        le=10_000,
        validation_alias="SIZER_WORKER_QUEUE",
        description="jobs waiting for a worker before new requests are told to retry",
    )

    def metric_schema(self) -> MetricSchema:
        """Metric and label names the Prometheus queries use, from these settings."""
        return MetricSchema(
            request_rate_metric=self.request_rate_metric,
            app_label=self.app_label,
            language_label=self.language_label,
            framework_label=self.framework_label,
            kind_label=self.kind_label,
            team_label=self.team_label,
            scrape_interval_s=self.prometheus_scrape_interval_s,
        )
