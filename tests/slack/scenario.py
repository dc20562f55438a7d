"""Reading the emulator's record of a conversation: cards, buttons, replies."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from bot.approvals.models import CardRef
from tests.emulators.slack_api import Call, SlackEmulator


def is_card(call: Call, workload: str = "") -> bool:
    """A proposal card: its buttons block, and a header naming the workload after the state."""
    blocks = call.params.get("blocks") or []
    titled = any(
        b.get("type") == "header"
        and b["text"]["text"].endswith(" · " + workload if workload else "")
        for b in blocks
    )
    return titled and any(b.get("block_id") == "sizer_decision" for b in blocks)


def text_of(call: Call) -> str:
    """Every string in the message: fallback text and all block texts."""
    parts: list[str] = [str(call.params.get("text", ""))]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    parts.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(call.params.get("blocks") or [])
    return "\n".join(parts)


def button(call: Call, action_id: str) -> str | None:
    for block in call.params.get("blocks") or []:
        if block.get("type") == "actions":
            for element in block["elements"]:
                if element["action_id"] == action_id:
                    return str(element["value"])
    return None


def posted_card(
    emulator: SlackEmulator, workload: str, thread_ts: str | None = None, timeout: float = 15
) -> tuple[Call, CardRef, str]:
    """The card the bot posted: the call, the ref its buttons carry, and its message ts."""
    call = emulator.wait_for(
        "chat.postMessage",
        lambda c: (
            is_card(c, workload) and (thread_ts is None or c.params.get("thread_ts") == thread_ts)
        ),
        timeout,
    )
    value = button(call, "sizer_approve")
    assert value is not None, "a new card must carry the Approve button"
    return call, CardRef.decode(value), str(call.response["ts"])


def posted_card_without_approve(
    emulator: SlackEmulator, workload: str, timeout: float = 15
) -> tuple[Call, str, str]:
    """A card whose buttons offer no Approve (it does not fit): the call, a value, its ts."""
    call = emulator.wait_for("chat.postMessage", lambda c: is_card(c, workload), timeout)
    value = button(call, "sizer_edit")
    assert value is not None
    return call, value, str(call.response["ts"])


def card_update(emulator: SlackEmulator, ts: str, contains: str, timeout: float = 15) -> Call:
    return emulator.wait_for(
        "chat.update", lambda c: c.params.get("ts") == ts and contains in text_of(c), timeout
    )


def ephemeral_to(emulator: SlackEmulator, user: str, contains: str, timeout: float = 15) -> Call:
    return emulator.wait_for(
        "chat.postEphemeral",
        lambda c: c.params.get("user") == user and contains in str(c.params.get("text")),
        timeout,
    )


def encode(ref: CardRef) -> str:
    return json.dumps(ref.model_dump(by_alias=True), separators=(",", ":"))


def eventually(check: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)
