"""A typed client over ``prometheus_api_client.PrometheusConnect`` with errors that say what to do.

Exceptions::

    PrometheusError                 anything that went wrong talking to Prometheus
    ├── PrometheusUnreachable       no answer at the URL (temporary: check the URL, retry)
    ├── QueryFailed                 Prometheus refused or failed the query (e.g. timeout)
    ├── MalformedResponse           an answer that is not a query result of the expected shape
    └── NoData                      the query worked but the data is not there (permanent)
        ├── MissingMetric           a metric has no series at all: its exporter is not scraped
        ├── EmptyResult             the metric exists, but not for this workload or window
        └── PartialData             some of the series a result needs are missing
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
import requests
from prometheus_api_client.exceptions import PrometheusApiClientException
from prometheus_api_client.prometheus_connect import PrometheusConnect
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError
from urllib3.util.retry import Retry

from tools.prometheus import queries
from tools.sizing.models import FloatArray


class PrometheusError(Exception):
    """Base of every error raised while querying Prometheus."""


class PrometheusTarget(BaseModel):
    """A Prometheus base URL and where it was set, told by whoever read it from there.

    Errors name ``source`` ("check PROMETHEUS_URL", "check prometheus_url of cluster b in
    /etc/sizer/clusters.yaml"), so the person fixes the place the URL really came from.
    """

    model_config = ConfigDict(frozen=True)

    url: str
    source: str


class PrometheusUnreachable(PrometheusError):
    def __init__(self, url: str, reason: str, source: str) -> None:
        super().__init__(f"Prometheus at {url} is unreachable ({reason}); check {source}")
        self.url = url


class QueryFailed(PrometheusError):
    """Prometheus answered with an error status."""


class MalformedResponse(PrometheusError):
    """Something answered at the URL, but not with a Prometheus query result of that type."""

    def __init__(self, url: str, detail: str, source: str) -> None:
        super().__init__(
            f"Prometheus at {url} answered with something that is not a query result "
            f"({detail}); check {source} points at Prometheus itself"
        )
        self.url = url


class NoData(PrometheusError):
    """The data a question needs is not in Prometheus."""


class MissingMetric(NoData):
    def __init__(self, metric: str, exporter: str, window_s: int) -> None:
        super().__init__(
            f"no series of {metric} in the last {window_s / 3600:g} h: is {exporter} scraped?"
        )
        self.metric = metric
        self.exporter = exporter


class EmptyResult(NoData):
    """The metric exists but nothing matches the workload in the window."""


class PartialData(NoData):
    """Some series are there and others are not; the message names what is missing."""


def _sample_value(value: object) -> float:
    """Prometheus sends sample values as strings ("1.5", "NaN", "+Inf"); some lookalikes send
    plain numbers. Anything else (null, a bool, a list) is not a sample."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError("a sample value must be a number or a numeric string")
    return float(value)


_Value = Annotated[float, BeforeValidator(_sample_value)]
_Sample = tuple[float, _Value]


class _Item(BaseModel):
    model_config = ConfigDict(strict=False, frozen=True)

    metric: dict[str, str]


class _InstantItem(_Item):
    value: _Sample


class _RangeItem(_Item):
    values: list[_Sample] = Field(min_length=1)


_INSTANT = TypeAdapter(list[_InstantItem])
_RANGE = TypeAdapter(list[_RangeItem])


@dataclass(frozen=True)
class Series:
    """One result series: its labels and samples (Unix seconds, values)."""

    labels: dict[str, str]
    timestamps: FloatArray
    values: FloatArray


class PrometheusClient:
    """Sends the fixed templates of :mod:`tools.prometheus.queries` and types the answers.

    ``connection`` is a constructor argument so callers can reuse one session or pass their
    own ``PrometheusConnect`` (with auth headers, a proxy, ...). ``target`` says where the URL
    was set; the errors name it.
    """

    def __init__(
        self,
        target: PrometheusTarget,
        *,
        timeout_s: float = 30.0,
        connection: PrometheusConnect | None = None,
    ) -> None:
        self.url = target.url.rstrip("/")
        self.source = target.source
        # One quick retry: a dead URL must fail in seconds, not after urllib3's back-off.
        retry = Retry(total=1, backoff_factor=0.2, status_forcelist=[502, 503, 504])
        self._prom = connection or PrometheusConnect(
            url=self.url, retry=retry, timeout=math.ceil(timeout_s), method="POST"
        )

    def close(self) -> None:
        self._prom.close()

    def __enter__(self) -> PrometheusClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _query(self, promql: str, at: float) -> list[dict[str, Any]]:
        try:
            result = self._prom.custom_query(promql, params={"time": f"{at:.3f}"})
        except requests.exceptions.RetryError as exc:
            raise QueryFailed(f"Prometheus kept failing the query: {exc}") from None
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            raise PrometheusUnreachable(self.url, type(exc).__name__, self.source) from None
        except PrometheusApiClientException as exc:
            if "Status Code 404" in str(exc):
                # Nothing serves the query API there: usually a path after host:port.
                raise MalformedResponse(
                    self.url,
                    "HTTP 404 for /api/v1/query: give the server's base URL, "
                    "without /api/v1 or another path",
                    self.source,
                ) from None
            raise QueryFailed(f"Prometheus rejected a query: {exc}") from None
        except requests.exceptions.JSONDecodeError:
            raise MalformedResponse(self.url, "the body is not JSON", self.source) from None
        except requests.exceptions.RequestException as exc:  # e.g. a URL without http://
            raise PrometheusUnreachable(
                self.url, f"{type(exc).__name__}: {exc}", self.source
            ) from None
        except (KeyError, TypeError, ValueError) as exc:  # JSON, but no data.result in it
            raise MalformedResponse(
                self.url, f"no data.result ({type(exc).__name__})", self.source
            ) from None
        if not isinstance(result, list):
            raise MalformedResponse(
                self.url, f"data.result is a {type(result).__name__}", self.source
            )
        return result

    def _typed(self, adapter: TypeAdapter[list[Any]], items: list[Any], kind: str) -> list[Any]:
        try:
            return adapter.validate_python(items)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise MalformedResponse(
                self.url, f"not {kind}: {where}: {first['msg']}", self.source
            ) from None

    def instant(self, promql: str, at: float | None = None) -> list[Series]:
        """Instant vector: one sample per series at ``at`` (default now)."""
        stamp = time.time() if at is None else at
        items: list[_InstantItem] = self._typed(
            _INSTANT, self._query(promql, stamp), "an instant vector"
        )
        return [
            Series(
                dict(item.metric),
                np.array([item.value[0]], dtype=np.float64),
                np.array([item.value[1]], dtype=np.float64),
            )
            for item in items
        ]

    def samples(self, promql: str, at: float | None = None) -> list[Series]:
        """Range vector: every raw sample of each series (``metric{...}[window]``)."""
        stamp = time.time() if at is None else at
        items: list[_RangeItem] = self._typed(_RANGE, self._query(promql, stamp), "a range vector")
        return [
            Series(
                dict(item.metric),
                np.array([t for t, _ in item.values], dtype=np.float64),
                np.array([v for _, v in item.values], dtype=np.float64),
            )
            for item in items
        ]

    def scalar_by(self, promql: str, at: float | None, *keys: str) -> dict[tuple[str, ...], float]:
        """Instant query as a mapping from the ``keys`` labels to the value."""
        return {
            tuple(s.labels.get(k, "") for k in keys): float(s.values[0])
            for s in self.instant(promql, at)
        }

    def require(
        self, metric: str, window_s: int, at: float | None, schema: queries.MetricSchema
    ) -> None:
        """Raise :class:`MissingMetric`, naming the exporter, when no series of it exists."""
        if not self.instant(queries.exists(metric, window_s), at):
            raise MissingMetric(metric, queries.exporter_of(metric, schema), window_s)

    def has(self, metric: str, window_s: int, at: float | None) -> bool:
        return bool(self.instant(queries.exists(metric, window_s), at))
