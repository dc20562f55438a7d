"""Every metric Sizer exports, in one registry, with the small calls that record them.

The registry is Sizer's own (not prometheus_client's global one), so ``/metrics`` shows exactly
these series plus the process collector. Label values come from fixed sets (event types,
states, step names, tool names), never from user text, so cardinality stays bounded.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

__all__ = [
    "AGENT_TOOL_CALLS",
    "APPLIES",
    "APPLY_STEP_SECONDS",
    "APPROVALS",
    "COMMANDS",
    "EVENTS",
    "LLM_ERRORS",
    "LLM_SECONDS",
    "PROPOSAL_STATES",
    "REGISTRY",
    "SCHEDULED_CHECKS",
    "SLACK_API_ERRORS",
    "SLACK_RATE_LIMITED",
    "TRANSITIONS",
    "ProposalStates",
    "exposition",
    "timed_step",
]

REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

EVENTS = Counter(
    "sizer_slack_events",
    "Slack requests handled, by type (event type, command, block_actions, view_submission)",
    ["type"],
    registry=REGISTRY,
)
COMMANDS = Counter(
    "sizer_commands", "/sizer sub-commands handled, by sub-command", ["command"], registry=REGISTRY
)
TRANSITIONS = Counter(
    "sizer_proposal_transitions",
    "Proposal state transitions written to the audit stream, by the state entered",
    ["state"],
    registry=REGISTRY,
)
APPROVALS = Counter(
    "sizer_approvals",
    "Approve clicks, by outcome (approved, refused) and refusal kind",
    ["outcome", "reason"],
    registry=REGISTRY,
)
APPLIES = Counter(
    "sizer_applies",
    "Applies finished, by outcome (applied, failed, rolled_back)",
    ["outcome"],
    registry=REGISTRY,
)
APPLY_STEP_SECONDS = Histogram(
    "sizer_apply_step_seconds",
    "Duration of each apply step (render, validate, preflight, terraform, dry-run, apply, "
    "rollout, rollback), by outcome",
    ["step", "outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
    registry=REGISTRY,
)
AGENT_TOOL_CALLS = Counter(
    "sizer_agent_tool_calls",
    "Tool calls by the agent, by tool and result status (ok, no_data, error)",
    ["tool", "status"],
    registry=REGISTRY,
)
LLM_SECONDS = Histogram(
    "sizer_llm_request_seconds",
    "Latency of one call to the LLM endpoint",
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 40, 60, 120),
    registry=REGISTRY,
)
LLM_ERRORS = Counter(
    "sizer_llm_errors",
    "Failed LLM turns, by kind (connection, timeout, status, steps, deadline)",
    ["kind"],
    registry=REGISTRY,
)
SLACK_API_ERRORS = Counter(
    "sizer_slack_api_errors",
    "Slack Web API calls that failed, by method and Slack's error code",
    ["method", "error"],
    registry=REGISTRY,
)
SLACK_RATE_LIMITED = Counter(
    "sizer_slack_rate_limited",
    "Slack Web API answers 429 (each is retried after Retry-After), by method",
    ["method"],
    registry=REGISTRY,
)
SCHEDULED_CHECKS = Counter(
    "sizer_scheduled_checks",
    "Scheduled jobs run, by check and outcome (ok, failed)",
    ["check", "outcome"],
    registry=REGISTRY,
)


@contextmanager
def timed_step(step: str) -> Iterator[None]:
    """Observe one apply step's duration, labelled ok or failed by whether it raised."""
    started = time.perf_counter()
    outcome = "failed"
    try:
        yield
        outcome = "ok"
    finally:
        APPLY_STEP_SECONDS.labels(step, outcome).observe(time.perf_counter() - started)


class ProposalStates(Collector):
    """``sizer_proposals{state}``: proposals in each state now, read from the store at scrape.

    The count comes from Redis, so every replica reports the same totals. A process serves one
    store; the runtime that started last is the one counted.
    """

    def __init__(self) -> None:
        self._sources: list[Callable[[], Mapping[str, int]]] = []

    def watch(self, counts: Callable[[], Mapping[str, int]]) -> None:
        self._sources.append(counts)

    def unwatch(self, counts: Callable[[], Mapping[str, int]]) -> None:
        if counts in self._sources:
            self._sources.remove(counts)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "sizer_proposals", "Proposals in each state, from the store", labels=["state"]
        )
        counts: Mapping[str, int] = {}
        if self._sources:
            try:
                counts = self._sources[-1]()
            except Exception:  # a scrape never fails because Redis did; /readyz reports Redis
                counts = {}
        for state, count in sorted(counts.items()):
            family.add_metric([state], count)
        yield family


PROPOSAL_STATES = ProposalStates()
REGISTRY.register(PROPOSAL_STATES)


def exposition() -> tuple[bytes, str]:
    """The text format of every metric and its content type, for ``/metrics``."""
    from prometheus_client import CONTENT_TYPE_LATEST

    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
