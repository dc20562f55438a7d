"""Peer catalogs: the profiles of existing services a new service is sized against.

The bundled catalog (``tools/data/peers.json``) holds profiles aggregated from the MIT-licensed
Nezha recordings of Online Boutique and TrainTicket (see ``tools/data/ATTRIBUTION.md``), so
``sizer propose`` works offline. In production the catalog comes from Prometheus.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from tools.sizing.coldstart import ColdStartSettings, PeakCalibration, calibrate_peak
from tools.sizing.profiles import PeerProfile, profile_from_history
from tools.traces import Trace, load_trace

BUNDLED = "peers.json"


@dataclass(frozen=True)
class PeerCatalog:
    profiles: tuple[PeerProfile, ...]
    source: str
    bundled: bool = False  # the demo history shipped with Sizer, not this cluster's workloads
    _calibrations: dict[ColdStartSettings, PeakCalibration] = field(
        default_factory=dict, compare=False, hash=False, repr=False
    )

    def peak_calibration(self, settings: ColdStartSettings) -> PeakCalibration:
        """The conformal peak multiplier over the whole catalog, computed once per settings:
        it costs O(n²) in peers and does not depend on the service being sized."""
        if settings not in self._calibrations:
            self._calibrations[settings] = calibrate_peak(self.profiles, settings)
        return self._calibrations[settings]

    def __iter__(self) -> Iterator[PeerProfile]:
        return iter(self.profiles)

    def __len__(self) -> int:
        return len(self.profiles)

    def get(self, name: str) -> PeerProfile | None:
        return next((p for p in self.profiles if p.meta.name == name), None)

    def names(self) -> list[str]:
        return sorted(p.meta.name for p in self.profiles)

    def to_json(self) -> str:
        body = {"source": self.source, "profiles": [p.model_dump() for p in self.profiles]}
        return json.dumps(body, indent=1, sort_keys=True) + "\n"


def catalog_from_traces(traces: Sequence[Trace]) -> PeerCatalog:
    profiles = [
        profile_from_history(history, trace.services[name].meta)
        for trace in traces
        for name, history in sorted(trace.usage.items())
    ]
    return PeerCatalog(tuple(profiles), ", ".join(t.name for t in traces))


def load_catalog(path: Path | None = None) -> PeerCatalog:
    """A catalog from a JSON file, a trace directory, or (no path) the bundled one."""
    if path is not None and path.is_dir():
        return catalog_from_traces([load_trace(path)])
    text = (
        path.read_text(encoding="utf-8")
        if path is not None
        else resources.files("tools.data").joinpath(BUNDLED).read_text(encoding="utf-8")
    )
    body = json.loads(text)
    profiles = tuple(PeerProfile.model_validate(p) for p in body["profiles"])
    return PeerCatalog(profiles, str(body.get("source", path or "bundled")), bundled=path is None)
