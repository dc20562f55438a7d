"""Choosing the agent from the settings: the LLM if an endpoint is configured, else the planner."""

from __future__ import annotations

from bot.agent.answer import Agent
from bot.agent.llm import LlmAgent, chat_model
from bot.agent.memory import ThreadMemory
from bot.agent.planner import Planner
from bot.agent.tools import Capabilities, Toolset
from bot.settings import Settings

DEFAULT_BASE_URL = "https://api.openai.com/v1"
# Local endpoints (Ollama, llama.cpp, vLLM) accept any key, but the client insists on one.
NO_KEY = "not-needed"


def llm_configured(settings: Settings) -> bool:
    return bool(settings.openai_base_url or settings.openai_api_key)


def build_agent(
    settings: Settings,
    caps: Capabilities,
    memory: ThreadMemory | None,
    *,
    offline: bool = False,
) -> Agent:
    """The LLM agent (with the planner as fallback if so configured), or the planner alone."""
    toolset = Toolset(caps)
    planner = Planner(toolset, memory)
    if offline or not llm_configured(settings):
        return planner
    base_url = settings.openai_base_url or DEFAULT_BASE_URL
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else NO_KEY
    model = chat_model(
        base_url,
        key,
        settings.llm_model,
        settings.llm_timeout_s,
        streaming=settings.llm_streaming,
        max_retries=settings.llm_max_retries,
    )
    return LlmAgent(
        model,
        toolset,
        memory,
        max_steps=settings.llm_max_steps,
        wall_s=settings.llm_wall_s,
        fallback=planner if settings.llm_fallback else None,
        endpoint=base_url,
    )
