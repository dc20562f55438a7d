"""Sizing a new service from a request: replicas from load, then per-pod size from peers.

This is what ``sizer propose``, the built-in planner and the agent's ``recommend`` tool call.
"""

from __future__ import annotations

import difflib

from pydantic import BaseModel, ConfigDict, Field, model_validator

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


class UnknownPeerError(ValueError):
    """A ``similar`` service that is not in the catalog."""


class SizeRequest(BaseModel):
    """A request to size a new service, as a person states it."""

    model_config = ConfigDict(frozen=True)

    name: Dns1123Label
    namespace: Dns1123Label = "default"
    language: Language | None = None
    framework: str | None = Field(None, max_length=63, pattern=r"^[a-z0-9][a-z0-9.+_-]*$")
    kind: Kind = "http"
    rps_low: float = Field(ge=0, le=1_000_000)
    rps_high: float = Field(ge=0, le=1_000_000)
    similar: tuple[Dns1123Label, ...] = ()
    critical: bool = False
    cluster: Dns1123Label | None = None

    @model_validator(mode="after")
    def _ordered(self) -> SizeRequest:
        if self.rps_high < self.rps_low:
            raise ValueError(f"rps range {self.rps_low:g}-{self.rps_high:g} is reversed")
        return self

    def meta(self) -> ServiceMeta:
        return ServiceMeta(
            name=self.name,
            language=self.language,
            framework=self.framework,
            kind=self.kind,
            critical=self.critical,
        )


def unknown_similar(request: SizeRequest, catalog: PeerCatalog) -> list[str]:
    """One note per named similar service the catalog has no history for."""
    notes = []
    for name in request.similar:
        if catalog.get(name) is None:
            close = difflib.get_close_matches(name, catalog.names(), n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            notes.append(f"no history for similar service {name!r}{hint}")
    return notes


def propose(
    request: SizeRequest,
    catalog: PeerCatalog,
    policy: Policy,
    settings: coldstart.ColdStartSettings | None = None,
    *,
    strict: bool = False,
) -> Recommendation:
    """Replicas for the peak load, then the per-pod size for each pod's share of it.

    A named similar service without history is left out and said so in the reasons, since
    the rest of the request still sizes well from the other peers; ``strict`` refuses instead.
    """
    notes = unknown_similar(request, catalog)
    if notes and strict:
        raise UnknownPeerError("; ".join(notes))
    known = tuple(n for n in request.similar if catalog.get(n) is not None)
    request = request.model_copy(update={"similar": known})
    meta = request.meta()
    peers = [p for p in catalog if p.meta.name != request.name]
    cpu_model = coldstart.fit_cpu_model(meta, request.similar, peers)
    plan = replicas.plan(
        rps_high=request.rps_high,
        cpu_model=cpu_model,
        policy=policy,
        critical=request.critical,
    )
    target = coldstart.ColdStartInput(
        meta=meta,
        rps_p50_per_pod=(request.rps_low + request.rps_high) / 2 / plan.replicas,
        rps_p95_per_pod=request.rps_high / plan.replicas,
        replicas=plan.replicas,
        similar=request.similar,
    )
    settings = settings or coldstart.ColdStartSettings()
    calibration = (
        catalog.peak_calibration(settings)
        if catalog.get(request.name) is None
        else coldstart.calibrate_peak(peers, settings)
    )
    sized = coldstart.recommend(target, peers, policy, settings, calibration)
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
    return sized.model_copy(update={"reasons": (plan.reason, *sized.reasons, *warnings)})
