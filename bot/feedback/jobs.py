"""The functions rq runs. Each takes only JSON-able arguments and finds the parts it needs
(checker, scheduler, peer catalog) in the :class:`FeedbackRuntime` its worker bound."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from rq import get_current_job

from bot.feedback.checker import Checker
from bot.feedback.peers import ClusterCatalog
from bot.feedback.schedule import CheckScheduler
from bot.feedback.spec import CheckSpec

__all__ = ["FeedbackRuntime", "bound", "refresh_peers", "run_check", "watch"]


@dataclass(frozen=True)
class FeedbackRuntime:
    checker: Checker
    scheduler: CheckScheduler
    peers: ClusterCatalog | None = None
    clock: Callable[[], float] = field(default=time.time)


_RUNTIME: ContextVar[FeedbackRuntime] = ContextVar("sizer_feedback_runtime")


@contextmanager
def bound(runtime: FeedbackRuntime) -> Iterator[None]:
    token = _RUNTIME.set(runtime)
    try:
        yield
    finally:
        _RUNTIME.reset(token)


def _runtime() -> FeedbackRuntime:
    try:
        return _RUNTIME.get()
    except LookupError:
        raise RuntimeError("a Sizer check job runs only in a Sizer worker (sizer worker)") from None


def _final_attempt() -> bool:
    job = get_current_job()
    return job is None or not job.retries_left


def run_check(spec: dict[str, object]) -> str:
    return _runtime().checker.run(CheckSpec.model_validate(spec), final_attempt=_final_attempt())


def watch(slot: int) -> str:
    """OOM kills and crash loops of every applied workload since its apply, then the next.

    The next run is the next slot from now, not ``slot + 1``: after a long outage the watch
    runs once, it does not replay every slot it missed."""
    rt = _runtime()
    try:
        results = rt.checker.watch_all(rt.clock())
    finally:
        rt.scheduler.schedule_watch()
    return "; ".join(results) or "nothing applied"


def refresh_peers(slot: int) -> str:
    rt = _runtime()
    try:
        if rt.peers is None:
            return "no Prometheus: the bundled history stays"
        catalog = rt.peers.refresh()
        return f"{len(catalog)} peers from {catalog.source}"
    finally:
        rt.scheduler.schedule_peer_refresh()
