"""Sizing a new service from a request: replicas from load, then per-pod size from peers.

This is what ``sizer propose``, the built-in planner and the agent's ``recommend`` tool call.
"""

from __future__ import annotations

import difflib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from tools.catalog import PeerCatalog
from tools.sizing import coldstart, replicas
from tools.sizing.models import (
    Dns1123Label,
    Kind,
    Language,
    Policy,
    Reason,
    Recommendation,
    ServiceMeta,
)
from tools.sizing.outcomes import OutcomeCalibration, PeerPrediction
from tools.sizing.profiles import PeerProfile
from tools.sizing.vocabulary import FRAMEWORK_LANGUAGE, framework_problem


class UnknownPeerError(ValueError):
    """A ``similar`` service that is not in the catalog."""


IMAGE_PATTERN = (
    r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]{1,5})?(?:/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9._-]{0,127})?(?:@sha256:[a-f0-9]{64})?"
)
PROBE_PATH_PATTERN = r"/[A-Za-z0-9._~/-]{0,200}"
LoadUnit = Literal["rps", "messages"]
# difflib similarity above which an unknown peer name is taken for a typo of a known one
# (recomendationservice: 0.98 to recommendationservice; zzzzservice: 0.70 to adservice).
TYPO_CUTOFF = 0.85
# Kinds whose load is requests; a worker's is messages (or none: sized from peers alone).
REQUEST_KINDS = ("http", "grpc", "gateway", "frontend")
# Validation context for a request read back from storage: it was valid when it was stored,
# and a rule added since must not drop it (``SizeRequest.model_validate(raw, context=STORED)``).
STORED: dict[str, bool] = {"stored": True}


class SizeRequest(BaseModel):
    """A request to size a new service, as a person states it.

    The one model every way of asking ends in: the ``/sizer`` grammar, plain language, the
    agent's tools (it is their argument schema) and ``sizer propose``. ``image`` may be left
    out while asking; a proposal without one can be shown but is never applied.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Dns1123Label = Field(description="the new workload's name (DNS-1123 label)")
    namespace: Dns1123Label = "default"
    language: Language | None = None
    framework: str | None = Field(None, max_length=63, pattern=r"^[a-z0-9][a-z0-9.+_-]*$")
    kind: Kind = "http"
    rps_low: float | None = Field(
        None, ge=0, le=1_000_000, description="expected requests/s, low end"
    )
    rps_high: float | None = Field(
        None, ge=0, le=1_000_000, description="expected requests/s, peak"
    )
    messages_low: float | None = Field(
        None, ge=0, le=1_000_000, description="a worker's messages/s, low end"
    )
    messages_high: float | None = Field(
        None, ge=0, le=1_000_000, description="a worker's messages/s, peak"
    )
    similar: tuple[Dns1123Label, ...] = Field((), max_length=10)
    critical: bool = False
    image: str | None = Field(
        None, max_length=255, pattern=rf"^{IMAGE_PATTERN}$", description="container image"
    )
    port: int = Field(8080, ge=1, le=65535, description="the container port")
    probe_path: str | None = Field(
        None,
        max_length=200,
        pattern=rf"^{PROBE_PATH_PATTERN}$",
        description="HTTP readiness path, e.g. /healthz; without one the probe is a TCP check",
    )
    cluster: Dns1123Label | None = None

    @model_validator(mode="before")
    @classmethod
    def _language_of_framework(cls, data: Any) -> Any:
        """A known framework without a language says its language (``fastapi``: python)."""
        if isinstance(data, dict) and data.get("language") is None:
            language = FRAMEWORK_LANGUAGE.get(str(data.get("framework") or ""))
            if language is not None:
                return {**data, "language": language}
        return data

    @field_validator("framework")
    @classmethod
    def _framework_of_language(cls, framework: str | None, info: ValidationInfo) -> str | None:
        """Every reader (flags, plain language, the agent's tools) gets this one message."""
        if (info.context or {}).get("stored"):
            return framework
        problem = framework_problem(info.data.get("language"), framework)
        if problem is not None:
            raise ValueError(problem)
        return framework

    @model_validator(mode="after")
    def _load(self, info: ValidationInfo) -> SizeRequest:
        for unit, low, high in (
            ("rps", self.rps_low, self.rps_high),
            ("messages/s", self.messages_low, self.messages_high),
        ):
            if (low is None) != (high is None):
                raise ValueError(f"give both ends of the {unit} range (one number is both)")
            if low is not None and high is not None and high < low:
                raise ValueError(f"{unit} range {low:g}-{high:g} is reversed")
        if self.kind in REQUEST_KINDS and self.rps_high is None:
            raise ValueError(
                f"a {self.kind} service needs its expected requests per second (rps_low, rps_high)"
            )
        if self.rps_high is not None and self.messages_high is not None:
            if self.kind == "worker":
                raise ValueError("give a worker's load as messages/s or requests/s, not both")
            if not (info.context or {}).get("stored"):
                # one load sizes the replicas; the other would be silently ignored
                raise ValueError(
                    f"{self.kind} services are sized from requests per second; "
                    "drop the messages/s range (a worker's load)"
                )
        return self

    def load(self) -> tuple[float, float, LoadUnit] | None:
        """The stated load (low, peak, unit), or None for a worker sized from peers alone."""
        if self.rps_low is not None and self.rps_high is not None:
            return self.rps_low, self.rps_high, "rps"
        if self.messages_low is not None and self.messages_high is not None:
            return self.messages_low, self.messages_high, "messages"
        return None

    def meta(self) -> ServiceMeta:
        return ServiceMeta(
            name=self.name,
            language=self.language,
            framework=self.framework,
            kind=self.kind,
            critical=self.critical,
        )


def unknown_similar(
    request: SizeRequest, catalog: PeerCatalog, *, misspelt_only: bool = False
) -> list[str]:
    """One note per named similar service the catalog has no history for; with
    ``misspelt_only``, only those a known name is close to (most likely a typo)."""
    notes = []
    for name in request.similar:
        if catalog.get(name) is None:
            if misspelt_only:
                close = difflib.get_close_matches(name, catalog.names(), n=1, cutoff=TYPO_CUTOFF)
                if not close:
                    continue
            else:
                close = difflib.get_close_matches(name, catalog.names(), n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            notes.append(f"no history for similar service {name!r}{hint}")
    return notes


def _cold_start(
    request: SizeRequest, catalog: PeerCatalog, policy: Policy
) -> tuple[SizeRequest, coldstart.ColdStartInput, list[PeerProfile], replicas.ReplicaPlan]:
    """The request with only known similar services, its cold-start input, peers and plan."""
    known = tuple(n for n in request.similar if catalog.get(n) is not None)
    request = request.model_copy(update={"similar": known})
    meta = request.meta()
    peers = [p for p in catalog if p.meta.name != request.name]
    cpu_model = coldstart.fit_cpu_model(meta, request.similar, peers)
    load = request.load()
    low, high = (load[0], load[1]) if load else (0.0, 0.0)
    plan = replicas.plan(
        rps_high=high,
        cpu_model=cpu_model,
        policy=policy,
        critical=request.critical,
    )
    target = coldstart.ColdStartInput(
        meta=meta,
        rps_p50_per_pod=(low + high) / 2 / plan.replicas if load else None,
        rps_p95_per_pod=high / plan.replicas if load else None,
        replicas=plan.replicas,
        similar=request.similar,
    )
    return request, target, peers, plan


def peer_prediction(
    request: SizeRequest,
    catalog: PeerCatalog,
    policy: Policy,
    settings: coldstart.ColdStartSettings | None = None,
) -> PeerPrediction:
    """What the peers predict for this request before any correction: what an outcome is
    later compared with, so the next cold start can learn from it."""
    _, target, peers, _ = _cold_start(request, catalog, policy)
    evidence = coldstart.peer_evidence(target, peers, settings or coldstart.ColdStartSettings())
    return PeerPrediction(
        cpu_cores=evidence.cpu_cores,
        memory_p95_bytes=evidence.memory_p95,
        memory_peak_bytes=evidence.memory_peak,
        tier=evidence.group.tier,
        peers=evidence.group.names,
    )


def propose(
    request: SizeRequest,
    catalog: PeerCatalog,
    policy: Policy,
    settings: coldstart.ColdStartSettings | None = None,
    *,
    strict: bool = False,
    learned: OutcomeCalibration | None = None,
) -> Recommendation:
    """Replicas for the peak load, then the per-pod size for each pod's share of it.

    A named similar service without history is left out and said so in the reasons, since
    the rest of the request still sizes well from the other peers; ``strict`` refuses instead.
    ``learned`` is what verified outcomes of earlier launches teach (per runtime and
    namespace); the correction it makes is said in the reasons.
    """
    notes = unknown_similar(request, catalog)
    if notes and strict:
        raise UnknownPeerError("; ".join(notes))
    request, target, peers, plan = _cold_start(request, catalog, policy)
    settings = settings or coldstart.ColdStartSettings()
    calibration = (
        catalog.peak_calibration(settings)
        if catalog.get(request.name) is None
        else coldstart.calibrate_peak(peers, settings)
    )
    correction = learned.correction(target.meta, request.namespace) if learned is not None else None
    sized = (
        coldstart.recommend(target, peers, policy, settings, calibration, correction)
        if correction is not None
        else coldstart.recommend(target, peers, policy, settings, calibration)
    )
    warnings = tuple(
        Reason(
            field="confidence",
            value=None,
            statistic="input check",
            window="request",
            text=note + "; sized from the other peers",
        )
        for note in notes
    )
    basis = _load_basis(request)
    extra = (basis,) if basis is not None else ()
    reasons = (plan.reason, *extra, *sized.reasons, *warnings)
    return sized.model_copy(update={"reasons": reasons})


def _load_basis(request: SizeRequest) -> Reason | None:
    """Say what stood in for request load when a worker has none."""
    load = request.load()
    if load is not None and load[2] == "rps":
        return None
    text = (
        f"a worker without request load: sized from {load[0]:g}-{load[1]:g} messages/s, "
        "each message counted as one request to its peers"
        if load is not None
        else "a worker without request load: sized from its peers alone (no load was given)"
    )
    return Reason(
        field="confidence",
        value=None,
        statistic="load basis",
        window="request",
        text=text,
    )
