"""A small HTML rendering of Block Kit, close enough to Slack's to judge a layout by eye.

Used to turn what the bot posts into screenshots (``benchmarks/screenshots.py`` with headless
Chromium) and, in the tests, to make sure every state's blocks render at all.
"""

from __future__ import annotations

import html
import re
from typing import Any

__all__ = ["page", "render_blocks"]

_EMOJI = {
    "hourglass_flowing_sand": "⏳",
    "white_check_mark": "✅",
    "no_entry_sign": "🚫",
    "no_entry": "⛔",
    "zzz": "💤",
    "gear": "⚙️",
    "rocket": "🚀",
    "x": "❌",
    "leftwards_arrow_with_hook": "↩️",
    "warning": "⚠️",
}
_CSS = """
body{font:15px/1.46 -apple-system,'Segoe UI',Lato,'DejaVu Sans',sans-serif;color:#1d1c1d;
margin:0;background:#fff}.msg{display:flex;gap:8px;padding:12px 16px;max-width:760px}
.avatar{width:36px;height:36px;border-radius:6px;background:#4a154b;color:#fff;
font-weight:700;display:flex;align-items:center;justify-content:center;flex:none}
.name{font-weight:900}.name small{font-weight:400;color:#616061;margin-left:6px}
h3{font-size:18px;margin:6px 0}.section{margin:6px 0}.fields{display:grid;
grid-template-columns:1fr 1fr;gap:6px 16px;margin:6px 0}.context{color:#616061;
font-size:12.5px;margin:6px 0}.actions{display:flex;flex-wrap:wrap;gap:8px;margin:10px 0}
.btn{border:1px solid #bbb;border-radius:4px;padding:3px 12px;font-weight:700;
font-size:14px;background:#fff}.primary{background:#007a5a;color:#fff;border-color:#007a5a}
.danger{color:#e01e5a;border-color:#e01e5a}code{background:#f6f6f6;border:1px solid #ddd;
border-radius:3px;padding:0 3px;font-size:12px;color:#e01e5a}pre{background:#f8f8f8;
border:1px solid #ddd;border-radius:4px;padding:8px;font-size:12px;white-space:pre-wrap}
a,.mention{color:#1264a3;text-decoration:none}.mention{background:#e8f5fa}
hr{border:0;border-top:1px solid #ddd;margin:12px 0}
.modal{border:1px solid #ddd;border-radius:8px;max-width:640px;margin:16px;padding:0 16px 12px}
.modal h2{font-size:20px;border-bottom:1px solid #ddd;padding:10px 0;margin:0 0 8px}
.box{border:1px solid #bbb;border-radius:4px;padding:6px 8px;margin:4px 0;min-height:22px}
.tall{min-height:66px}.muted{color:#868686;font-weight:400}.end{justify-content:flex-end}
"""


def _mrkdwn(text: str) -> str:
    out = html.escape(text, quote=False)
    out = re.sub(r"```\n?(.*?)\n?```", lambda m: f"<pre>{m[1]}</pre>", out, flags=re.S)
    out = re.sub(r"`([^`\n]+)`", r"<code>\1</code>", out)
    out = re.sub(r"&lt;!date\^\d+\^[^|]*\|([^&]*)&gt;", r"\1", out)
    out = re.sub(r"&lt;@([A-Z0-9]+)&gt;", r'<span class="mention">@\1</span>', out)
    out = re.sub(r"&lt;(https?://[^|&]+)\|([^&]+)&gt;", r'<a href="\1">\2</a>', out)
    out = re.sub(r"(?<![\w*])\*([^*\n]+)\*(?!\w)", r"<b>\1</b>", out)
    out = re.sub(r"(?<![\w_])_([^_\n]+)_(?!\w)", r"<i>\1</i>", out)
    out = re.sub(r":([a-z_]+):", lambda m: _EMOJI.get(m[1], m[0]), out)
    # Slack shows its own escapes (&amp; &lt; &gt;) as the characters, after the markup.
    out = re.sub(r"&amp;(amp|lt|gt);", r"&\1;", out)
    return out.replace("\n", "<br>")


def _text(obj: dict[str, Any]) -> str:
    value = str(obj.get("text", ""))
    if obj.get("type") == "mrkdwn":
        return _mrkdwn(value)
    return re.sub(r":([a-z_]+):", lambda m: _EMOJI.get(m[1], m[0]), html.escape(value))


def render_blocks(blocks: list[dict[str, Any]]) -> str:
    """HTML for a list of blocks; an unknown block type is an error, never skipped."""
    parts: list[str] = []
    for block in blocks:
        kind = block["type"]
        if kind == "header":
            parts.append(f"<h3>{_text(block['text'])}</h3>")
        elif kind == "section":
            if "text" in block:
                parts.append(f'<div class="section">{_text(block["text"])}</div>')
            if "fields" in block:
                cells = "".join(f"<div>{_text(f)}</div>" for f in block["fields"])
                parts.append(f'<div class="fields">{cells}</div>')
        elif kind == "context":
            inner = " ".join(_text(e) for e in block["elements"])
            parts.append(f'<div class="context">{inner}</div>')
        elif kind == "actions":
            buttons = "".join(
                f'<span class="btn {e.get("style", "")}">{_text(e["text"])}</span>'
                for e in block["elements"]
            )
            parts.append(f'<div class="actions">{buttons}</div>')
        elif kind == "divider":
            parts.append("<hr>")
        elif kind == "input":
            parts.append(_input(block))
        else:
            raise ValueError(f"no HTML rendering for block type {kind!r}")
    return "".join(parts)


def _input(block: dict[str, Any]) -> str:
    """A form field: label ("optional" when it is), the box with its placeholder, the hint."""
    element = block.get("element", {})
    optional = ' <small class="muted">(optional)</small>' if block.get("optional") else ""
    value = element.get("initial_value")
    shown = html.escape(str(value)) if value else ""
    if not shown and "placeholder" in element:
        shown = f'<span class="muted">{_text(element["placeholder"])}</span>'
    tall = " tall" if element.get("multiline") else ""
    hint = f'<div class="context">{_text(block["hint"])}</div>' if block.get("hint") else ""
    return (
        f'<div class="section"><b>{_text(block["label"])}</b>{optional}'
        f'<div class="box{tall}">{shown}</div>{hint}</div>'
    )


def _footer(payload: dict[str, Any]) -> str:
    """A form's Cancel and submit buttons, as Slack puts them at the bottom right."""
    if "submit" not in payload:
        return ""  # a read-only view: its close button adds nothing to judge
    buttons = []
    if "close" in payload:
        buttons.append(f'<span class="btn">{_text(payload["close"])}</span>')
    if "submit" in payload:
        buttons.append(f'<span class="btn primary">{_text(payload["submit"])}</span>')
    return f'<div class="actions end">{"".join(buttons)}</div>' if buttons else ""


def page(payload: dict[str, Any]) -> str:
    """A whole page: a message (``blocks``) as the bot's post, or a view (``type``)."""
    blocks = render_blocks(payload.get("blocks") or [])
    if payload.get("type") in ("modal", "home"):
        title = _text(payload["title"]) if "title" in payload else "Home"
        body = f'<div class="modal"><h2>{title}</h2>{blocks}{_footer(payload)}</div>'
    else:
        body = (
            '<div class="msg"><div class="avatar">S</div><div><div class="name">Sizer'
            f"<small>APP</small></div>{blocks}</div></div>"
        )
    return f"<!doctype html><meta charset='utf-8'><style>{_CSS}</style>{body}"
