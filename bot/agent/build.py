"""Choosing the agent from the settings: the LLM if an endpoint is configured, else the planner."""

from __future__ import annotations

from bot.agent.answer import Agent
from bot.agent.llm import LlmAgent, chat_model
from bot.agent.memory import ThreadMemory
from bot.agent.planner import Planner
from bot.agent.toolsets import Capabilities, Toolset
from bot.settings import LLMSettings

DEFAULT_BASE_URL = "https://api.openai.com/v1"
# Local endpoints (Ollama, llama.cpp, vLLM) accept any key, but the client insists on one.
NO_KEY = "not-needed"


def build_agent(
    settings: LLMSettings,
    caps: Capabilities,
    memory: ThreadMemory | None,
    *,
    offline: bool = False,
) -> Agent:
    """The LLM agent (with the planner as fallback if so configured), or the planner alone."""
    toolset = Toolset(caps)
    planner = Planner(toolset, memory)
    if offline or not settings.configured:
        return planner
    base_url = settings.base_url or DEFAULT_BASE_URL
    key = settings.api_key.get_secret_value() if settings.api_key else NO_KEY
    model = chat_model(
        base_url,
        key,
        settings.model,
        settings.timeout_s,
        streaming=settings.streaming,
        max_retries=settings.max_retries,
    )
    return LlmAgent(
        model,
        toolset,
        memory,
        max_steps=settings.max_steps,
        wall_s=settings.wall_s,
        fallback=planner if settings.fallback else None,
        endpoint=base_url,
    )
