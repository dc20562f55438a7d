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
    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

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
    policy: Policy = Field(default_factory=Policy)

    # Bot runtime
    workers: int = Field(4, ge=1, le=64, validation_alias="SIZER_WORKERS")
    dry_run: bool = Field(True, validation_alias="SIZER_DRY_RUN")
