"""Reading trace directories (services.csv, usage.csv.gz, events.csv) into engine inputs.

A malformed file is rejected with :class:`TraceError` naming the file, the line and what is
wrong; no row is silently skipped. Parsing is streaming with the csv module and typed columns
are collected into numpy arrays per pod, so a 1.6 M-row trace loads in a few seconds.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
from pydantic import ValidationError

from tools.sizing.models import (
    KINDS,
    LANGUAGES,
    PodSeries,
    ServiceMeta,
    UsageHistory,
)

SERVICES_HEADER = [
    "service",
    "system",
    "language",
    "framework",
    "kind",
    "observed_cpu_limit_cores",
    "observed_memory_limit_bytes",
    "description",
]
USAGE_HEADER = ["timestamp", "service", "pod", "cpu_cores", "memory_bytes", "rps"]
EVENTS_HEADER = ["timestamp", "service", "pod", "kind", "detail"]
EVENT_KINDS = ("fault_injected", "oom_killed", "restart")


class TraceError(ValueError):
    """A trace file that does not follow the trace format; says file, line and reason."""

    def __init__(self, path: Path, line: int, reason: str) -> None:
        # Line 0 means the file (or directory) itself, not a line in it.
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {reason}")
        self.path = path
        self.line = line
        self.reason = reason


@dataclass(frozen=True)
class ServiceRecord:
    meta: ServiceMeta
    observed_cpu_limit_cores: float | None
    observed_memory_limit_bytes: int | None


@dataclass(frozen=True)
class Event:
    timestamp: int
    service: str
    pod: str
    kind: str
    detail: str


@dataclass(frozen=True)
class Trace:
    name: str
    services: dict[str, ServiceRecord]
    usage: dict[str, UsageHistory]
    events: tuple[Event, ...]


def _rows(path: Path, stream: IO[str], header: list[str]) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(stream)
    try:
        first = next(reader)
    except StopIteration:
        raise TraceError(path, 1, "file is empty; expected a header row") from None
    except csv.Error as exc:
        raise TraceError(path, 1, f"not valid CSV: {exc}") from None
    if first != header:
        raise TraceError(path, 1, f"header must be {','.join(header)}, found {','.join(first)}")
    try:
        for row in reader:
            if len(row) != len(header):
                raise TraceError(
                    path, reader.line_num, f"expected {len(header)} fields, found {len(row)}"
                )
            yield reader.line_num, row
    except csv.Error as exc:
        raise TraceError(path, reader.line_num, f"not valid CSV: {exc}") from None


def _number(path: Path, line: int, column: str, text: str, *, integer: bool = False) -> float:
    try:
        value = float(int(text)) if integer else float(text)
    except ValueError:
        kind = "an integer" if integer else "a decimal number"
        raise TraceError(path, line, f"{column} must be {kind}, found {text!r}") from None
    if not math.isfinite(value) or value < 0 or "e" in text.lower():
        raise TraceError(path, line, f"{column} must be finite, >= 0, no exponent: {text!r}")
    return value


def read_services(path: Path) -> dict[str, ServiceRecord]:
    services: dict[str, ServiceRecord] = {}
    with path.open(encoding="utf-8", newline="") as stream:
        for line, row in _rows(path, stream, SERVICES_HEADER):
            name, system, language, framework, kind, cpu_lim, mem_lim, description = row
            if name in services:
                raise TraceError(path, line, f"service {name!r} is listed twice")
            if language and language not in LANGUAGES:
                raise TraceError(path, line, f"language {language!r} not one of {LANGUAGES}")
            if kind not in KINDS:
                raise TraceError(path, line, f"kind {kind!r} not one of {KINDS}")
            try:
                meta = ServiceMeta(
                    name=name,
                    system=system or None,
                    language=language or None,
                    framework=framework or None,
                    kind=kind,
                    description=description,
                )
            except ValidationError as exc:
                raise TraceError(path, line, exc.errors()[0]["msg"]) from None
            services[name] = ServiceRecord(
                meta,
                _number(path, line, "observed_cpu_limit_cores", cpu_lim) if cpu_lim else None,
                int(_number(path, line, "observed_memory_limit_bytes", mem_lim, integer=True))
                if mem_lim
                else None,
            )
    return services


class _PodColumns:
    __slots__ = ("cpu", "memory", "rps", "timestamps")

    def __init__(self) -> None:
        self.timestamps: list[int] = []
        self.cpu: list[float] = []
        self.memory: list[float] = []
        self.rps: list[float] = []

    def series(self, pod: str) -> PodSeries:
        return PodSeries(
            pod,
            np.asarray(self.timestamps, dtype=np.int64),
            np.asarray(self.cpu, dtype=np.float64),
            np.asarray(self.memory, dtype=np.float64),
            np.asarray(self.rps, dtype=np.float64),
        )


def read_usage(path: Path, services: dict[str, ServiceRecord]) -> dict[str, dict[str, PodSeries]]:
    pods: dict[str, dict[str, _PodColumns]] = {}
    owner: dict[str, str] = {}
    last: tuple[str, str, int] | None = None
    nan = math.nan
    with gzip.open(path, "rb") as raw, io.TextIOWrapper(raw, encoding="utf-8", newline="") as st:
        try:
            for line, (ts, service, pod, cpu, mem, rps) in _rows(path, st, USAGE_HEADER):
                if service not in services:
                    raise TraceError(path, line, f"service {service!r} is not in services.csv")
                if not pod:
                    raise TraceError(path, line, "pod is empty")
                if owner.setdefault(pod, service) != service:
                    raise TraceError(path, line, f"pod {pod!r} belongs to {owner[pod]!r} too")
                stamp = int(_number(path, line, "timestamp", ts, integer=True))
                key = (service, pod, stamp)
                if last is not None and key <= last:
                    what = "repeats" if key == last else "is out of order after"
                    raise TraceError(path, line, f"row {what} ({last[0]}, {last[1]}, {last[2]})")
                last = key
                columns = pods.setdefault(service, {}).get(pod)
                if columns is None:
                    columns = pods[service][pod] = _PodColumns()
                columns.timestamps.append(stamp)
                columns.cpu.append(_number(path, line, "cpu_cores", cpu))
                columns.memory.append(_number(path, line, "memory_bytes", mem, integer=True))
                columns.rps.append(_number(path, line, "rps", rps) if rps else nan)
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            raise TraceError(path, 0, f"cannot read gzip CSV: {exc}") from None
    missing = sorted(set(services) - set(pods))
    if missing:
        raise TraceError(path, 0, f"services without usage rows: {', '.join(missing)}")
    return {s: {p: c.series(p) for p, c in by_pod.items()} for s, by_pod in pods.items()}


def read_events(path: Path, services: dict[str, ServiceRecord]) -> tuple[Event, ...]:
    if not path.exists():
        return ()
    events: list[Event] = []
    with path.open(encoding="utf-8", newline="") as stream:
        for line, (ts, service, pod, kind, detail) in _rows(path, stream, EVENTS_HEADER):
            if service not in services:
                raise TraceError(path, line, f"service {service!r} is not in services.csv")
            if kind not in EVENT_KINDS:
                raise TraceError(path, line, f"event kind {kind!r} not one of {EVENT_KINDS}")
            stamp = int(_number(path, line, "timestamp", ts, integer=True))
            events.append(Event(stamp, service, pod, kind, detail))
    return tuple(events)


def sampling_interval(pods: list[PodSeries]) -> int:
    """Median spacing of consecutive samples of a pod, in seconds (60 when unknown)."""
    gaps = [np.diff(p.timestamps) for p in pods if len(p) > 1]
    joined = np.concatenate(gaps) if gaps else np.zeros(0)
    return int(np.median(joined)) if len(joined) else 60


def load_trace(directory: Path | str) -> Trace:
    """Load and validate one trace directory."""
    root = Path(directory)
    if not root.is_dir():
        raise TraceError(
            root, 0, "not a directory (a trace is a directory; see docs/trace-format.md)"
        )
    for name in ("services.csv", "usage.csv.gz"):
        if not (root / name).is_file():
            raise TraceError(
                root / name,
                0,
                "file is missing (a trace directory holds services.csv and "
                "usage.csv[.gz]; see docs/trace-format.md)",
            )
    services = read_services(root / "services.csv")
    usage_pods = read_usage(root / "usage.csv.gz", services)
    events = read_events(root / "events.csv", services)
    usage = {}
    for name, by_pod in usage_pods.items():
        pods = [by_pod[p] for p in sorted(by_pod)]
        usage[name] = UsageHistory(name, tuple(pods), sampling_interval(pods), services[name].meta)
    return Trace(root.name, services, usage, events)
