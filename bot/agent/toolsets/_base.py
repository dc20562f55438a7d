"""What every toolset shares: the result envelope, one turn's budget, a tool, and the toolset.

Every tool answers with :class:`ToolResult` (``ok``, ``error``, ``no_data`` or
``approval_required``) holding a typed payload; an error is text the model can act on, never an
exception. A :class:`BaseToolset` groups the tools of one capability with what they need, so
the registry can leave out, once and up front, the tools that cannot run here.
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializationInfo, field_serializer

from bot.agent.fence import redact_data
from bot.agent.payloads import Mode, Payload
from tools.sizing.quantities import format_cpu, format_memory

__all__ = [
    "PROPOSAL_ID",
    "AgentTool",
    "Args",
    "BaseToolset",
    "Status",
    "ToolData",
    "ToolResult",
    "Turn",
    "cpu_text",
    "memory_text",
]

Status = Literal["ok", "error", "no_data", "approval_required"]
PROPOSAL_ID = r"^p-[0-9a-f]{8}$"
# One payload, or rows of them.
ToolData = Payload | tuple[Payload, ...]


class ToolResult(BaseModel):
    """The one envelope every tool returns; serialised as the tool message the model reads."""

    status: Status
    data: ToolData | None = None
    error: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)

    @field_serializer("data")
    def _plain_data(self, data: ToolData | None, info: SerializationInfo) -> Any:
        mode: Mode = "json" if info.mode_is_json() else "python"
        if data is None or isinstance(data, Payload):
            return None if data is None else data.plain(mode)
        return [row.plain(mode) for row in data]

    def text(self) -> str:
        """The one place a payload becomes JSON: the tool message the model reads, with
        anything secret-shaped masked."""
        plain = self.model_dump(mode="json", exclude_none=True)
        return json.dumps(redact_data(json.loads(json.dumps(plain, default=str))))


class Args(BaseModel):
    """A tool's arguments: unknown keys are refused, so a typo is an error the model sees."""

    model_config = ConfigDict(extra="forbid")


@dataclass
class Turn:
    """One conversational turn: who asks where, its budget, and what the tools did."""

    user: str
    channel: str
    thread_ts: str
    deadline: float | None = None
    max_calls: int = 16
    calls: list[tuple[str, dict[str, Any], ToolResult]] = field(default_factory=list)
    new_card: str | None = None
    changed: str | None = None
    clock: Callable[[], float] = time.monotonic
    # What the people in the thread wrote; sizing refuses a load none of them stated.
    said: str | None = None
    # This message's own text, as cleaned for reading.
    text: str = ""


@dataclass(frozen=True)
class AgentTool:
    name: str
    description: str
    args: type[BaseModel]
    run: Callable[[Any, Turn], ToolResult]


class BaseToolset(ABC):
    """The tools of one capability and what they need (HolmesGPT's toolsets are the model).

    The registry asks :meth:`check_prerequisites` once, when it is built: a toolset that
    cannot run is left out of what the model is offered, and its tools answer ``no_data``
    with that reason.
    """

    name: ClassVar[str]

    @abstractmethod
    def check_prerequisites(self) -> str | None:
        """Why these tools cannot run here, in words that say what to set; None if they can."""

    @abstractmethod
    def tools(self) -> list[AgentTool]:
        """The tools, in the order they are offered."""


def cpu_text(cores: float | None) -> str | None:
    return format_cpu(cores) if cores is not None else None


def memory_text(num_bytes: float | None) -> str | None:
    return format_memory(num_bytes) if num_bytes is not None else None
