"""Building a Sizer with checks on real Redis and Prometheus, and applying a proposal."""

from __future__ import annotations

from typing import Any

import redis as redis_lib

from bot.approvals.models import Proposal, Sizing
from bot.feedback.worker import CheckWorker
from bot.settings import Settings
from bot.wiring import Components
from tests.approvals.doubles import Clock, RecordingExecutor
from tests.feedback.conftest import ACCESS, RecordingPoster
from tools.propose import SizeRequest

REQUESTER, APPROVER = "UREQUESTER", "UAPPROVER"


def settings(prefix: str, prometheus_url: str, **more: Any) -> Settings:
    values: dict[str, Any] = {
        "SIZER_REDIS_PREFIX": prefix,
        "PROMETHEUS_URL": prometheus_url,
        "SIZER_CHECK_RETRY_BASE_S": 0,
        "SIZER_CHECK_DAILY_DAYS": 2,
        "SIZER_HISTORY_DIR": None,
    }
    values.update(more)
    values = {k: v for k, v in values.items() if v is not None}
    return Settings.load(**values)


def components(
    config: Settings, client: redis_lib.Redis, clock: Clock, poster: RecordingPoster
) -> Components:
    return Components(
        config,
        redis=client,
        access=ACCESS,
        executor=RecordingExecutor(),
        poster=poster,
        clock=clock,
    )


def apply(
    parts: Components,
    workload: str,
    namespace: str,
    sizing: Sizing | None,
    cluster: str | None = None,
) -> Proposal:
    """Size, optionally edit to ``sizing``, and approve: the real service path."""
    service = parts.service
    proposal = service.size(
        SizeRequest(
            name=workload,
            namespace=namespace,
            language="python",
            rps_low=10,
            rps_high=30,
            cluster=cluster,
        ),
        REQUESTER,
        channel="C1",
        thread_ts="1700000000.000100",
    )
    if sizing is not None and sizing != proposal.current.sizing:
        values = {k: v or "" for k, v in sizing.model_dump().items()}
        values["replicas"] = str(sizing.replicas)
        proposal = service.edit(proposal.card_ref(), REQUESTER, values)
    return service.approve(proposal.card_ref(), APPROVER)


def burst(parts: Components) -> bool:
    """One rq worker in burst mode with rq's scheduler: runs every job due now, then returns."""
    worker = CheckWorker(
        [parts.check_queue], connection=parts.rq_redis, runtime=parts.feedback_runtime
    )
    return bool(worker.work(burst=True, with_scheduler=True))
