"""Recorded conversations: replayed against the emulator by default, or run against a real model.

Each fixture in ``conversations/`` holds the user's messages, the model turns recorded for them
and what must hold afterwards (tools called, card posted or revised, stored numbers quoted).
Set ``SIZER_TEST_LLM_URL`` (and optionally ``SIZER_TEST_LLM_MODEL``, ``SIZER_TEST_LLM_KEY``) to
send the same messages to a real OpenAI-compatible endpoint instead, e.g. to compare models:
``SIZER_TEST_LLM_URL=http://127.0.0.1:11434/v1 SIZER_TEST_LLM_MODEL=qwen2.5 pytest -m llm -s``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from bot.agent.answer import Answer
from bot.agent.llm import LlmAgent, chat_model
from bot.agent.memory import ThreadMemory
from bot.agent.toolsets import Toolset
from tests.agent.doubles import FakeProposals, capabilities
from tests.emulators.openai_api import OpenAIEmulator, ToolCall, Turn

pytestmark = pytest.mark.llm
HERE = Path(__file__).parent / "conversations"
CONVERSATIONS = sorted(HERE.glob("*.json"))


def recorded(model_turn: dict[str, Any]) -> Turn:
    calls = tuple(ToolCall(c["name"], c["arguments"]) for c in model_turn.get("tool_calls", []))
    return Turn(text=model_turn.get("text"), tool_calls=calls)


def check(expect: dict[str, Any], answer: Answer, proposals: FakeProposals) -> None:
    called = set(answer.tool_calls)
    assert set(expect.get("tools_all", [])) <= called, answer.tool_calls
    if "tools_any" in expect:
        assert called & set(expect["tools_any"]), answer.tool_calls
    assert not called & set(expect.get("tools_none", [])), answer.tool_calls
    if "new_card" in expect:
        assert (answer.new_card is not None) is expect["new_card"], answer
    if "changed" in expect:
        assert (answer.changed is not None) is expect["changed"], answer
    latest = list(proposals.stored.values())[-1] if proposals.stored else None
    for field, value in expect.get("stored", {}).items():
        assert latest is not None and getattr(latest, field) == value, field
    for field in expect.get("mentions_stored", []):
        assert latest is not None and str(getattr(latest, field)) in answer.text, field
    if "mentions_any" in expect:
        lowered = answer.text.lower()
        assert any(word in lowered for word in expect["mentions_any"]), answer.text
    if expect.get("question"):
        assert "?" in answer.text
    if expect.get("grounded"):
        assert "did not come from any tool result" not in answer.text, answer.text


@pytest.mark.parametrize("path", CONVERSATIONS, ids=[p.stem for p in CONVERSATIONS])
def test_conversation(path: Path, memory: ThreadMemory) -> None:
    conversation = json.loads(path.read_text())
    real_url = os.environ.get("SIZER_TEST_LLM_URL")
    emulator: OpenAIEmulator | None = None
    if real_url:
        base_url = real_url
        model = os.environ.get("SIZER_TEST_LLM_MODEL", "gpt-4o-mini")
        key = os.environ.get("SIZER_TEST_LLM_KEY", "not-needed")
    else:
        emulator = OpenAIEmulator()
        base_url, model, key = emulator.start() + "/v1", "recorded", "test"
    proposals = FakeProposals()
    agent = LlmAgent(
        chat_model(base_url, key, model, 120 if real_url else 10, max_retries=0),
        Toolset(capabilities(proposals=proposals)),
        memory,
        max_steps=6,
        wall_s=300 if real_url else 20,
    )
    try:
        for turn in conversation["turns"]:
            if emulator is not None:
                emulator.script.extend(recorded(m) for m in turn["model"])
            answer = agent.respond(turn["user"], "U1", "C1", path.stem)
            print(f"[{path.stem}] {turn['user']!r} → {answer.tool_calls} {answer.text!r}")
            check(turn["expect"], answer, proposals)
            if emulator is not None:
                assert not emulator.script, "the agent stopped before the recorded turns ran out"
    finally:
        if emulator is not None:
            emulator.stop()
