"""One fixed size for every service: what a team gets without any sizing at all.

The default is the seed manifest's sample (cpu 250m request / 500m limit, memory 512Mi request /
1Gi limit), the size most services would otherwise ship with.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from tools.sizing.models import Reason, Recommendation

NAME = "static"

# The seed's sample manifest: requests cpu 250m, memory 512Mi; limits cpu 500m, memory 1Gi.
CPU_REQUEST_CORES = 0.25
CPU_LIMIT_CORES = 0.5
MEMORY_REQUEST_BYTES = 512 * 2**20
MEMORY_LIMIT_BYTES = 2**30


class StaticSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    cpu_request_cores: float = Field(CPU_REQUEST_CORES, gt=0, le=256)
    cpu_limit_cores: float | None = Field(CPU_LIMIT_CORES, gt=0, le=256)
    memory_request_bytes: int = Field(MEMORY_REQUEST_BYTES, gt=0, le=2**44)
    memory_limit_bytes: int | None = Field(MEMORY_LIMIT_BYTES, gt=0, le=2**44)


def recommend(
    service: str, replicas: int = 1, settings: StaticSettings | None = None
) -> Recommendation:
    """The same size whatever the service; only the name and replica count are carried over."""
    s = settings or StaticSettings()
    text = "Fixed default from the seed manifest, the same for every service."
    return Recommendation(
        service=service,
        strategy=NAME,
        replicas=max(replicas, 1),
        cpu_request_cores=s.cpu_request_cores,
        cpu_limit_cores=s.cpu_limit_cores,
        memory_request_bytes=s.memory_request_bytes,
        memory_limit_bytes=s.memory_limit_bytes,
        confidence=0.0,
        reasons=tuple(
            Reason(field=f, value=v, statistic="fixed default", window="none", text=text)
            for f, v in (
                ("cpu_request", s.cpu_request_cores),
                ("cpu_limit", s.cpu_limit_cores),
                ("memory_request", float(s.memory_request_bytes)),
                (
                    "memory_limit",
                    None if s.memory_limit_bytes is None else float(s.memory_limit_bytes),
                ),
            )
        ),
    )
