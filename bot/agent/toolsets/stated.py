"""The load the people in a thread stated: sizing refuses a load nobody said."""

from __future__ import annotations

import re

from bot.agent.toolsets._base import Turn
from tools.asking import Load, LoadError, find_load
from tools.propose import SizeRequest

__all__ = ["stated_load", "unstated_load"]


def unstated_load(args: SizeRequest, turn: Turn) -> str | None:
    """Why the load in ``args`` cannot be used: nobody in the thread stated it (else None)."""
    load = args.load()
    if turn.said is None or load is None:
        return None
    low, high, unit = load
    found = stated_load(turn.said)
    stated = {float(n.replace(",", "")) for n in re.findall(r"\d[\d,]*(?:\.\d+)?", turn.said)}
    stated |= {v * 1000 for v in stated}
    if found is not None:
        stated |= {found.low, found.high}
    if high in stated and low in stated | {0.0}:
        return None
    word = "requests" if unit == "rps" else "messages"
    if found is None:
        return (
            "nobody in this thread has stated the expected load; do not guess: ask one short "
            f"question, e.g. 'Roughly how many {word} per second will it handle?'"
        )
    return (
        f"the load {low:g}-{high:g} {word}/s is not what was said; use the stated numbers "
        f"(a single number is both low and high), e.g. {found.low:g}-{found.high:g}"
    )


def stated_load(said: str) -> Load | None:
    """The load the thread states, in the message or on any one line (answers come alone)."""
    for text, bare in ((said, False), *((line, True) for line in said.splitlines())):
        try:
            found = find_load(text, bare=bare)
        except LoadError:
            continue
        if found is not None:
            return found
    return None
