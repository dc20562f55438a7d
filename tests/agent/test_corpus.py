"""The corpus of realistic requests and threads, read offline by the built-in planner (and,
with ``SIZER_TEST_LLM_URL`` set, by the agent on that endpoint): the share understood exactly,
i.e. ending in the very :class:`SizeRequest` meant, or refused with the right words."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from bot.agent.answer import Agent
from bot.agent.memory import ThreadMemory
from bot.agent.planner import Planner
from bot.agent.toolsets import Toolset
from tests.agent.corpus import CASES, Case
from tests.agent.doubles import FakeProposals, capabilities

GOAL = 0.95


def understood(case: Case, make: Callable[[FakeProposals], Agent], thread: str) -> str | None:
    """None when the case is understood exactly, else what went wrong."""
    proposals = FakeProposals()
    agent = make(proposals)
    reply = ""
    for turn in case.turns:
        reply = agent.respond(turn, "UASKER", "CCORPUS", thread).text
    got = proposals.requests[-1] if proposals.requests else None
    if case.expected is None:
        if got is not None:
            return f"sized {got!r} instead of refusing"
        return None if case.refusal in reply else f"refusal without {case.refusal!r}: {reply}"
    if got != case.expected:
        return f"got {got!r}; last reply: {reply[:200]}"
    return None


def score(make: Callable[[FakeProposals], Agent]) -> tuple[float, list[str]]:
    misses = []
    for i, case in enumerate(CASES):
        problem = understood(case, make, f"corpus-{i}")
        if problem is not None:
            misses.append(f"{case.turns}: {problem}")
    return 1 - len(misses) / len(CASES), misses


def test_corpus_is_large_and_realistic() -> None:
    assert len(CASES) >= 60
    assert sum(len(c.turns) > 1 for c in CASES) >= 15


def test_offline_planner_understands_the_corpus(memory: ThreadMemory) -> None:
    def make(proposals: FakeProposals) -> Agent:
        return Planner(Toolset(capabilities(proposals=proposals)), memory)

    share, misses = score(make)
    print(f"corpus (built-in planner): {share:.1%} of {len(CASES)} understood exactly")
    assert share >= GOAL, "\n".join(misses)


@pytest.mark.llm
def test_llm_agent_understands_the_corpus(memory: ThreadMemory) -> None:
    url = os.environ.get("SIZER_TEST_LLM_URL")
    if not url:
        pytest.skip("set SIZER_TEST_LLM_URL to run the corpus through a real model")
    from bot.agent.llm import LlmAgent, chat_model

    model_name = os.environ.get("SIZER_TEST_LLM_MODEL", "gpt-4o-mini")
    key = os.environ.get("SIZER_TEST_LLM_KEY", "not-needed")

    def make(proposals: FakeProposals) -> Agent:
        toolset = Toolset(capabilities(proposals=proposals))
        return LlmAgent(chat_model(url, key, model_name, 60.0), toolset, memory)

    share, misses = score(make)
    print(f"corpus (LLM {model_name}): {share:.1%} of {len(CASES)} understood exactly")
    assert share >= GOAL, "\n".join(misses)
