"""The one settings object: built once at start-up from the environment and passed down.

Nothing in Sizer reads the environment anywhere else, and nothing reads it at import time.
Field names are the documented environment variables (see README.md, "Configuration").
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from tools.sizing.models import Policy


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

    # Bot runtime
    workers: int = Field(4, ge=1, le=64, validation_alias="SIZER_WORKERS")
    dry_run: bool = Field(True, validation_alias="SIZER_DRY_RUN")
