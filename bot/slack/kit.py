"""Block Kit building blocks that stay within Slack's limits.

Slack refuses payloads past its limits, so every helper clips: 50 blocks per message and
100 per view, 3000 characters per section text, 2000 per field, 150 per header, 75 per button
label, 10 fields per section.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "MAX_FALLBACK",
    "MAX_FIELD",
    "MAX_FIELDS",
    "MAX_HEADER",
    "MAX_MESSAGE_BLOCKS",
    "MAX_SECTION",
    "MAX_VIEW_BLOCKS",
    "Block",
    "button",
    "chunks",
    "clip",
    "code",
    "context",
    "escape",
    "fields",
    "header",
    "section",
    "text",
]

Block = dict[str, Any]

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION = 3000
MAX_FIELD = 2000
MAX_FIELDS = 10
MAX_HEADER = 150
MAX_FALLBACK = 3000
MAX_BUTTON = 75


def clip(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def text(kind: str, value: str, limit: int, *, verbatim: bool = False) -> dict[str, Any]:
    """A text object; ``verbatim`` mrkdwn turns no bare URL, channel name or @word into a link."""
    body: dict[str, Any] = {"type": kind, "text": clip(value, limit)}
    if kind == "plain_text":
        body["emoji"] = True
    elif verbatim:
        body["verbatim"] = True
    return body


def escape(value: str) -> str:
    """What a person wrote, inert in mrkdwn: no ``<!channel>``, ``<@U…>`` or ``<url|…>``.

    Slack's own escaping (``&``, ``<``, ``>``); put the result in a ``verbatim`` text so bare
    URLs and names stay plain text too.
    """
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def header(value: str) -> Block:
    return {"type": "header", "text": text("plain_text", value, MAX_HEADER)}


def section(value: str, *, verbatim: bool = False) -> Block:
    return {"type": "section", "text": text("mrkdwn", value, MAX_SECTION, verbatim=verbatim)}


def fields(pairs: list[tuple[str, str]]) -> Block:
    """One section of label/value fields (two columns on desktop)."""
    return {
        "type": "section",
        "fields": [text("mrkdwn", f"*{k}*\n{v}", MAX_FIELD) for k, v in pairs[:MAX_FIELDS]],
    }


def context(value: str) -> Block:
    return {"type": "context", "elements": [text("mrkdwn", value, MAX_SECTION)]}


def button(action_id: str, label: str, value: str, style: str | None = None) -> Block:
    element: Block = {
        "type": "button",
        "action_id": action_id,
        "text": text("plain_text", label, MAX_BUTTON),
        "value": value,
    }
    if style is not None:
        element["style"] = style
    return element


def code(value: str, limit: int = MAX_SECTION) -> str:
    fence = "```"
    room = limit - 2 * len(fence) - 2
    return f"{fence}\n{clip(value, room)}\n{fence}"


def chunks(value: str, size: int) -> list[str]:
    """Split text at line ends into pieces of at most ``size`` characters (long lines cut)."""
    out: list[str] = []
    current = ""
    for line in value.splitlines():
        while len(line) > size:
            if current:
                out.append(current)
                current = ""
            out.append(line[:size])
            line = line[size:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > size:
            out.append(current)
            current = line
        else:
            current = candidate
    if current or not out:
        out.append(current)
    return out
