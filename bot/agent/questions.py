"""Sizer's clarifying questions: one slot at a time, never the same words twice in a thread."""

from __future__ import annotations

from tools.asking import Draft, Slot

__all__ = ["question"]

_WORDING: dict[Slot, tuple[str, ...]] = {
    "name": (
        "What should the new service be called? A Kubernetes name is fine with or without "
        "backticks, e.g. items-api.",
        "I still need a name for it: lower-case letters, digits and '-', like `orders-api`. "
        "What shall I call it?",
        "Just the name, please (for example `billing-worker`), and I'll size it.",
    ),
    "load": (
        "Roughly how many requests per second will {subject} handle? A number or a range is "
        'fine, e.g. 50-100 rps, or "normally 40, peaks at 300".',
        "I still need the load for {subject}: what is the peak in requests per second (or per "
        "minute)? If it is a worker, say how many messages per second it takes.",
        "One number is enough for {subject}, e.g. 80 — the busiest requests/s you expect.",
    ),
    "image": (
        "Which container image should {subject} run? e.g. ghcr.io/acme/{name}:1.4.2 "
        '(say "no image yet" to size it without one; it cannot be applied until it has one).',
        "I still need the image for {subject}, like registry.example.com/team/{name}:1.0 — or "
        '"no image yet".',
        'Image reference for {subject}, please (or "no image yet").',
    ),
    "similar": (
        "Which one did you mean by “{query}”?",
        "“{query}” matches more than one service; pick one of the buttons or type its name.",
        "Please pick the similar service for “{query}”.",
    ),
}


def question(slot: Slot, draft: Draft, times: int, query: str = "") -> str:
    """The question for ``slot``; ``times`` is how often it was already asked in the thread."""
    wordings = _WORDING[slot]
    name = draft.name or "my-service"
    subject = f"`{draft.name}`" if draft.name else "it"
    text = wordings[min(times, len(wordings) - 1)]
    if times >= len(wordings):
        text += f' (asked {times + 1} times; say "start over" to begin again)'
    return text.format(subject=subject, name=name, query=query)
