"""Outcomes as chat fine-tuning examples, for teams that fine-tune the model their agent uses.

Each verified outcome becomes one line of the OpenAI chat fine-tuning format,
``{"messages": [system, user, assistant]}``: the user turn holds what was known at launch (the
service's metadata, its expected load and the peers' evidence), the assistant turn the size
that proved right over the verified window and why. The formatter is pure; where outcomes
are stored and how the file is written is up to the caller.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tools.sizing.outcomes import Outcome
from tools.sizing.quantities import format_cpu, format_memory

__all__ = ["SYSTEM_PROMPT", "ExampleSettings", "example", "jsonl_lines"]

SYSTEM_PROMPT = (
    "You size Kubernetes workloads. Given a new service's metadata, its expected per-pod load "
    "and the usage of similar services, answer with per-pod CPU and memory requests and "
    "limits as JSON, and one sentence saying why."
)


class ExampleSettings(BaseModel):
    """How the size that proved right is derived from what was used; bounded."""

    model_config = ConfigDict(frozen=True)

    limit_margin: float = Field(
        0.10, ge=0, le=2, description="memory limit over the largest sample seen"
    )


def _peers(outcome: Outcome) -> str:
    p = outcome.predicted
    names = ", ".join(p.peers[:8]) + (f" and {len(p.peers) - 8} more" if len(p.peers) > 8 else "")
    return (
        f"Peers ({p.tier}): {names}. They predict {format_cpu(p.cpu_cores)} CPU at this load, "
        f"{format_memory(p.memory_p95_bytes)} memory at p95 and a "
        f"{format_memory(p.memory_peak_bytes)} peak."
    )


def _user(outcome: Outcome) -> str:
    m = outcome.meta
    facts = [
        f"Service {outcome.service}",
        f"namespace {outcome.namespace}" if outcome.namespace else None,
        f"language {m.language}" if m.language else None,
        f"framework {m.framework}" if m.framework else None,
        f"kind {m.kind}",
    ]
    load = (
        f"Expected load per pod: {outcome.rps_p50_per_pod:.3g} req/s typical, "
        f"{outcome.rps_p95_per_pod:.3g} req/s at p95."
        if outcome.rps_p50_per_pod is not None and outcome.rps_p95_per_pod is not None
        else "Expected load: unknown."
    )
    about = f" {m.description}" if m.description else ""
    return f"{', '.join(f for f in facts if f)}.{about} {load} {_peers(outcome)}"


def _assistant(outcome: Outcome, s: ExampleSettings) -> str:
    used = outcome.observed
    limit = used.memory_max_bytes * (1 + s.limit_margin)
    answer: dict[str, Any] = {
        "cpu_request": format_cpu(used.cpu_p95_cores),
        "cpu_limit": None,
        "memory_request": format_memory(used.memory_p95_bytes),
        "memory_limit": format_memory(limit),
        "why": (
            f"Over {used.hours:.0f} h it used {format_cpu(used.cpu_p95_cores)} CPU and "
            f"{format_memory(used.memory_p95_bytes)} memory at p95 and peaked at "
            f"{format_memory(used.memory_max_bytes)}; the peers predicted "
            f"{format_memory(outcome.predicted.memory_p95_bytes)} at p95"
            + (f", and it was OOM killed {used.oom_events} times" if used.oom_events else "")
            + "."
        ),
    }
    return json.dumps(answer, ensure_ascii=False)


def example(outcome: Outcome, settings: ExampleSettings | None = None) -> dict[str, Any]:
    """One chat fine-tuning example: ``{"messages": [system, user, assistant]}``."""
    s = settings or ExampleSettings()
    return {
        "messages": [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": _user(outcome)},
            {"role": "assistant", "content": _assistant(outcome, s)},
        ]
    }


def jsonl_lines(
    outcomes: Iterable[Outcome], settings: ExampleSettings | None = None
) -> Iterator[str]:
    """One JSON line per outcome (no trailing newline), ready for a ``.jsonl`` file."""
    for outcome in outcomes:
        yield json.dumps(example(outcome, settings), ensure_ascii=False, allow_nan=False)
