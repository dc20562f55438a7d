"""Secrets never reach the model: URLs with credentials, key=value secrets, token shapes."""

from __future__ import annotations

import pytest

from bot.agent.fence import REDACTED, redact, redact_data
from bot.agent.llm import LlmAgent, chat_model
from bot.agent.toolsets import Toolset, Turn
from tests.agent.doubles import FakeCluster, capabilities
from tests.emulators.openai_api import OpenAIEmulator

AWS = "AKIA" + "IOSFODNN7EXAMPLE"
SLACK = "xoxb-" + "1234567890-0987654321-AbCdEfGhIjKlMnOp"
GITHUB = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJlLXZhbHVl"
HEX = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


@pytest.mark.parametrize(
    ("text", "secret", "kept"),
    [
        ("postgres://admin:password@db:5432/app", "password", "postgres://admin:"),
        ("DATABASE_URL=mysql://root:s3cr3t!@10.0.0.5/x", "s3cr3t!", "mysql://root:"),
        ("redis://:hunter2@cache:6379/0", "hunter2", "redis://:"),
        ("https://" + GITHUB + "@github.com/org/repo", GITHUB, "github.com/org/repo"),
        ("password=hunter2 and more", "hunter2", "and more"),
        ('{"db_password": "hunter2"}', "hunter2", "db_password"),
        ("client_secret: abc123def", "abc123def", "client_secret"),
        ("API_KEY='sk_live_abcdef'", "sk_live_abcdef", "API_KEY"),
        ("token=" + HEX, HEX, "token="),
        ("key=" + HEX, HEX, "key="),
        ("sig=" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY", "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY", "sig="),
        ("Authorization: Bearer abcdefghijklmnop0123456789", "abcdefghijklmnop0123", "Bearer"),
        ("aws " + AWS + " here", AWS, "here"),
        ("slack " + SLACK, SLACK, "slack"),
        ("gh " + GITHUB, GITHUB, "gh"),
        ("jwt " + JWT, JWT, "jwt"),
        ("sk-" + "proj0123456789abcdefXYZ", "proj0123456789abcdefXYZ", ""),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----", "MIIE", ""),
    ],
)
def test_redact_masks_the_secret_and_keeps_the_context(text: str, secret: str, kept: str) -> None:
    masked = redact(text)
    assert secret not in masked and REDACTED in masked
    assert kept in masked


@pytest.mark.parametrize(
    "text",
    [
        "requests 250m cpu, 512Mi memory at p95=0.21 over 24 h",
        "image: registry.local/items-api:1.4.2",
        "https://grafana.example.com/d/abc?orgId=1",
        "the token bucket refills every 5 s",
        "key=team-a",
        "proposal p-1a2b3c4d revision 2",
    ],
)
def test_redact_leaves_ordinary_text_alone(text: str) -> None:
    assert redact(text) == text


def test_redact_data_walks_structures_and_masks_secret_keys() -> None:
    data = {
        "env": {"DB_PASSWORD": "hunter2", "apiKey": "abc", "LOG_LEVEL": "info"},
        "notes": ["postgres://admin:password@db", ("ok",)],
        "replicas": 3,
        "max_tokens": 256,
    }
    masked = redact_data(data)
    assert masked["env"] == {"DB_PASSWORD": REDACTED, "apiKey": REDACTED, "LOG_LEVEL": "info"}
    assert masked["notes"] == [f"postgres://admin:{REDACTED}@db", ["ok"]]
    assert masked["replicas"] == 3 and masked["max_tokens"] == 256


def test_an_annotation_with_a_connection_string_reaches_the_model_masked(
    llm: OpenAIEmulator,
) -> None:
    cluster = FakeCluster(
        annotations={"db": "postgres://admin:password@db", "ci": f"deploy token={HEX}"}
    )
    tools = Toolset(capabilities(cluster=cluster))
    llm.call("list_workloads", {"namespace": "team-a"}).reply("One workload.")
    agent = LlmAgent(chat_model(llm.base_url, "t", "m", 5), tools)
    agent.respond(f"what runs? our AWS key is {AWS}", "U", "C", "1")
    sent = llm.sent_text()
    assert "admin:password" not in sent and HEX not in sent and AWS not in sent
    assert "postgres://admin:[redacted]@db" in sent


def test_every_tool_result_is_masked_as_the_model_reads_it() -> None:
    cluster = FakeCluster(annotations={"note": f"SLACK_BOT_TOKEN={SLACK}"})
    tools = Toolset(capabilities(cluster=cluster))
    result = tools.call("list_workloads", {"namespace": "team-a"}, Turn("U", "C", "1"))
    assert SLACK not in result.text() and REDACTED in result.text()
