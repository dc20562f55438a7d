"""What a turn produces: the text for the thread and which proposal card it created or changed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Answer:
    text: str
    new_card: str | None = None  # a proposal created this turn: post its card
    changed: str | None = None  # a proposal revised this turn: re-render its card
    via: str = "planner"  # "planner", "llm" or "fallback"
    tool_calls: tuple[str, ...] = field(default=())
    # Services to offer as buttons when a named peer is ambiguous.
    choices: tuple[str, ...] = field(default=())
    # A proposal whose "why" this answers: its chart goes with the reply.
    explained: str | None = None


class Agent(Protocol):
    """Anything that answers a message in a thread: the LLM agent or the built-in planner."""

    def respond(self, text: str, user: str, channel: str, thread_ts: str) -> Answer: ...
