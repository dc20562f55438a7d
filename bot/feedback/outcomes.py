"""Verified outcomes in Redis: what cold start predicted, from what, and what was really used.

Each applied proposal gets its prediction recorded once (the first revision's size, the peers
and reasons behind it, and the request that was sized); each full check (24 h and daily) adds
what the workload really used and the size that its own history says was right. These
records are what calibration learns from (:meth:`OutcomeStore.calibration`, which cold start
applies to the next service of the same runtime or namespace) and what
:func:`finetune_examples` exports.

Keys (under the configured prefix)::

    feedback:prediction:{id}   JSON Prediction (set once, at the first apply)
    feedback:outcome:{id}      JSON Outcome (the newest verified check)
    feedback:outcomes          zset of proposal ids by check time
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from redis import Redis

from bot.approvals.models import Proposal, Sizing
from tools.propose import STORED, SizeRequest
from tools.sizing import outcomes as learning
from tools.sizing.models import Reason
from tools.sizing.quantities import parse_cpu, parse_memory

log = logging.getLogger(__name__)
# What the peers predicted for a proposal's request, before any correction (None: unknown).
PeerEvidence = Callable[[SizeRequest], learning.PeerPrediction | None]

__all__ = ["Outcome", "OutcomeStore", "Prediction", "Usage", "finetune_examples"]

SYSTEM_PROMPT = (
    "You are Sizer, who sizes new Kubernetes services before their first deploy. Given the "
    "service's metadata and load and the usage evidence of similar services, answer with JSON: "
    "replicas and per-pod cpu_request, cpu_limit, memory_request, memory_limit as Kubernetes "
    "quantities, and `why`, one sentence per number. Launch safe first: no OOM kill."
)


class Prediction(BaseModel):
    """What was proposed before the workload ran, and from which evidence."""

    model_config = ConfigDict(frozen=True)

    proposal_id: str
    workload: str
    namespace: str
    sizing: Sizing
    inputs: dict[str, object] = Field(default_factory=dict)
    peers: tuple[str, ...] = ()
    reasons: tuple[Reason, ...] = ()
    applied_at: float
    peer_prediction: learning.PeerPrediction | None = None


class Usage(BaseModel):
    """Per-pod usage in the checked window (cores, bytes; p50/p95 of 5-minute means)."""

    model_config = ConfigDict(frozen=True)

    hours: float
    pods: int
    cpu_p50: float
    cpu_p95: float
    cpu_max: float
    mem_p50: float
    mem_p95: float
    mem_max: float
    oom_kills: int
    restarts: int


class Outcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    prediction: Prediction
    check: str
    checked_at: float
    revision: int
    used: Usage
    goals_met: bool
    missed: tuple[str, ...] = ()
    proved: Sizing
    proved_why: tuple[str, ...] = ()


class OutcomeStore:
    def __init__(self, redis: Redis, prefix: str, evidence: PeerEvidence | None = None) -> None:
        self._evidence = evidence
        self._redis = redis
        self._prefix = prefix

    def _k(self, *parts: str) -> str:
        return self._prefix + "feedback:" + ":".join(parts)

    def predicted(self, proposal: Proposal, at: float) -> Prediction:
        """Record the first applied revision as the prediction (only once per proposal)."""
        first = proposal.revisions[0]
        prediction = Prediction(
            proposal_id=proposal.id,
            workload=proposal.workload,
            namespace=proposal.namespace,
            sizing=first.sizing,
            inputs=proposal.request,
            peers=tuple(sorted({p for r in proposal.reasons for p in r.peers})),
            reasons=proposal.reasons,
            applied_at=at,
            peer_prediction=self._peer_prediction(proposal),
        )
        self._redis.set(self._k("prediction", proposal.id), prediction.model_dump_json(), nx=True)
        found = self.prediction(proposal.id)
        return found if found is not None else prediction

    def _peer_prediction(self, proposal: Proposal) -> learning.PeerPrediction | None:
        if self._evidence is None:
            return None
        try:
            return self._evidence(SizeRequest.model_validate(proposal.request, context=STORED))
        except (ValidationError, ValueError) as exc:
            log.info("no peer prediction kept for %s: %s", proposal.id, exc)
            return None

    def calibration(self) -> learning.OutcomeCalibration:
        """What every verified outcome with its peers' prediction teaches cold start."""
        return learning.calibrate(o for o in map(_learning_outcome, self.all()) if o is not None)

    def prediction(self, proposal_id: str) -> Prediction | None:
        raw = self._redis.get(self._k("prediction", proposal_id))
        return Prediction.model_validate_json(str(raw)) if raw else None

    def record(self, outcome: Outcome) -> None:
        pid = outcome.prediction.proposal_id
        with self._redis.pipeline() as pipe:
            pipe.set(self._k("outcome", pid), outcome.model_dump_json())
            pipe.zadd(self._k("outcomes"), {pid: outcome.checked_at})
            pipe.execute()

    def get(self, proposal_id: str) -> Outcome | None:
        raw = self._redis.get(self._k("outcome", proposal_id))
        return Outcome.model_validate_json(str(raw)) if raw else None

    def all(self) -> Iterator[Outcome]:
        for pid in self._redis.zrange(self._k("outcomes"), 0, -1):
            found = self.get(pid.decode() if isinstance(pid, bytes) else str(pid))
            if found is not None:
                yield found


def _sizes(sizing: Sizing) -> dict[str, object]:
    return sizing.model_dump()


def finetune_examples(outcomes: Iterator[Outcome]) -> Iterator[dict[str, object]]:
    """OpenAI chat fine-tuning lines: metadata and peer evidence in, the size that held out."""
    for outcome in outcomes:
        p = outcome.prediction
        user = {
            "service": p.workload,
            "namespace": p.namespace,
            "request": p.inputs,
            "peers": list(p.peers),
            "peer_evidence": [f"{r.field}: {r.text}" for r in p.reasons],
        }
        used = outcome.used
        why = [
            *outcome.proved_why,
            f"observed over {used.hours:.0f} h on {used.pods} pod(s): CPU p95 "
            f"{used.cpu_p95 * 1000:.0f}m (max {used.cpu_max * 1000:.0f}m), memory p95 "
            f"{used.mem_p95 / 2**20:.0f}Mi (max {used.mem_max / 2**20:.0f}Mi), "
            f"{used.oom_kills} OOM kill(s)",
        ]
        if outcome.goals_met:
            why.append("the launch size met every goal")
        else:
            why.append("the launch size missed: " + ", ".join(outcome.missed))
        answer = {**_sizes(outcome.proved), "why": why}
        yield {
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": json.dumps(user, sort_keys=True)},
                {"role": "assistant", "content": json.dumps(answer, sort_keys=True)},
            ]
        }


def _learning_outcome(outcome: Outcome) -> learning.Outcome | None:
    """The engine's view of one verified outcome: prediction, proposal and real use, per pod."""
    predicted = outcome.prediction
    if predicted.peer_prediction is None:
        return None
    try:
        request = SizeRequest.model_validate(predicted.inputs, context=STORED)
    except ValidationError:
        return None
    sizing = predicted.sizing
    return learning.Outcome(
        service=predicted.workload,
        namespace=predicted.namespace,
        meta=request.meta(),
        launched_at=int(predicted.applied_at),
        predicted=predicted.peer_prediction,
        proposed=learning.ProposedSize(
            cpu_request_cores=parse_cpu(sizing.cpu_request),
            cpu_limit_cores=parse_cpu(sizing.cpu_limit) if sizing.cpu_limit else None,
            memory_request_bytes=parse_memory(sizing.memory_request),
            memory_limit_bytes=parse_memory(sizing.memory_limit) if sizing.memory_limit else None,
        ),
        observed=learning.ObservedUsage(
            cpu_p95_cores=outcome.used.cpu_p95,
            memory_p95_bytes=outcome.used.mem_p95,
            memory_max_bytes=outcome.used.mem_max,
            hours=outcome.used.hours,
            oom_events=outcome.used.oom_kills,
        ),
    )
