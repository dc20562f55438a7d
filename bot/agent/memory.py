"""Per-thread conversation memory in Redis, with a TTL, so follow-ups in a thread work.

One JSON value per Slack thread: the last messages (user and assistant text only; tool output
is not kept, so nothing cluster-sourced outlives the turn), the proposal the thread is about,
a size request waiting for the answer to a clarifying question (with the slot asked
for), and the last complete request so a correction can revise it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, ValidationError
from redis import Redis

from tools.asking import Draft, Slot
from tools.propose import STORED, SizeRequest


class Message(BaseModel):
    role: Literal["user", "assistant"]
    text: str


class ThreadState(BaseModel):
    messages: list[Message] = Field(default_factory=list)
    proposal_id: str | None = None
    pending: Draft | None = None
    # The slot Sizer's last question asked for, and how often each was asked (never verbatim twice).
    asked: Slot | None = None
    asked_times: dict[str, int] = Field(default_factory=dict)
    # Services offered as buttons for an ambiguous peer, and the query they answer.
    choices: list[str] = Field(default_factory=list)
    choice_for: str | None = None
    # The last complete request, so "actually make that 180 rps" can revise it.
    last_request: SizeRequest | None = None

    def add(self, role: Literal["user", "assistant"], text: str, keep: int) -> None:
        self.messages.append(Message(role=role, text=text))
        del self.messages[:-keep]


class ThreadMemory:
    """Load and save a thread's state; a lapsed or unreadable entry starts the thread afresh."""

    def __init__(
        self, redis: Redis, prefix: str = "sizer:", ttl_s: int = 86_400, keep: int = 20
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self.ttl_s = ttl_s
        self.keep = keep

    def key(self, channel: str, thread_ts: str) -> str:
        return f"{self._prefix}agent:thread:{channel}:{thread_ts}"

    def load(self, channel: str, thread_ts: str) -> ThreadState:
        raw = self._redis.get(self.key(channel, thread_ts))
        if raw is None:
            return ThreadState()
        try:
            return ThreadState.model_validate_json(raw, context=STORED)
        except ValidationError:
            return ThreadState()

    def save(self, channel: str, thread_ts: str, state: ThreadState) -> None:
        del state.messages[: -self.keep]
        self._redis.set(self.key(channel, thread_ts), state.model_dump_json(), ex=self.ttl_s)

    def forget(self, channel: str, thread_ts: str) -> None:
        self._redis.delete(self.key(channel, thread_ts))
