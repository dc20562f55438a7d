"""Outcomes become OpenAI chat fine-tuning lines holding the evidence and the size that held."""

from __future__ import annotations

import json

from tests.sizing.test_outcomes import outcome
from tools.finetune import SYSTEM_PROMPT, ExampleSettings, jsonl_lines


def test_each_outcome_is_one_chat_example_with_evidence_in_and_the_right_size_out() -> None:
    rows = [outcome("orders-api", 1.6, namespace="shop"), outcome("cart", 1.0)]
    lines = list(jsonl_lines(rows, ExampleSettings(limit_margin=0.1)))
    assert len(lines) == 2 and all("\n" not in line for line in lines)
    first = json.loads(lines[0])
    roles = [m["role"] for m in first["messages"]]
    assert roles == ["system", "user", "assistant"]
    system, user, assistant = (m["content"] for m in first["messages"])
    assert system == SYSTEM_PROMPT
    assert "orders-api" in user and "namespace shop" in user and "python" in user
    assert "Peers (same language): a, b" in user and "100Mi memory at p95" in user
    answer = json.loads(assistant)
    assert answer["memory_request"] == "160Mi"  # what it really used at p95 (1.6 × 100Mi)
    assert answer["memory_limit"] == "212Mi"  # peak 192Mi + 10 %, rounded up to a MiB
    assert answer["cpu_request"] == "100m"
    assert "peers predicted 100Mi" in answer["why"]
