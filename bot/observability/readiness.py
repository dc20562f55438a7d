"""``/readyz``: can this replica do its work right now? Each dependency answers by name.

Checked: Redis (ping), Prometheus (``/-/ready``), the Kubernetes API (``/version`` with the
credentials the executor uses), the Terraform engine (``version``), and the LLM endpoint
(``/models``) when one is configured. Checks run in parallel, each with its own timeout, so
a probe answers within the slowest timeout; the Terraform engine does not change while the
process runs, so a passing engine check is remembered for a while.
"""

from __future__ import annotations

import concurrent.futures
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from redis import Redis

    from bot.settings import Settings

__all__ = ["CheckResult", "Readiness", "kubernetes_check", "llm_check", "prometheus_check"]

Check = Callable[[], str]
"""Returns a short detail when the dependency answers; raises with the reason when not."""


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str

    def as_json(self) -> dict[str, str]:
        return {"status": "ok" if self.ok else "error", "detail": self.detail}


class Readiness:
    def __init__(self, checks: Mapping[str, Check], timeout_s: float = 5.0) -> None:
        self._checks = dict(checks)
        self._timeout_s = timeout_s

    @property
    def names(self) -> list[str]:
        return list(self._checks)

    def run(self) -> list[CheckResult]:
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, len(self._checks)))
        try:
            futures = {name: pool.submit(check) for name, check in self._checks.items()}
            deadline = time.monotonic() + self._timeout_s
            return [
                _result(name, future, deadline - time.monotonic())
                for name, future in futures.items()
            ]
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def report(self) -> tuple[bool, dict[str, Any]]:
        results = self.run()
        ready = all(r.ok for r in results)
        body = {
            "status": "ready" if ready else "not ready",
            "checks": {r.name: r.as_json() for r in results},
        }
        return ready, body

    @classmethod
    def from_settings(cls, settings: Settings, redis: Redis) -> Readiness:
        prometheus, llm = settings.prometheus, settings.llm
        checks: dict[str, Check] = {
            "redis": lambda: "PONG" if redis.ping() else "no answer",
            "prometheus": prometheus_check(prometheus.url, prometheus.timeout_s),
            "kubernetes": kubernetes_check(settings.cluster.kubeconfig),
            "terraform": _Cached(terraform_check(settings.executor.terraform_bin)),
        }
        if llm.base_url:
            key = llm.api_key.get_secret_value() if llm.api_key else ""
            checks["llm"] = llm_check(llm.base_url, key)
        return cls(checks, timeout_s=min(10.0, prometheus.timeout_s))


def _result(name: str, future: concurrent.futures.Future[str], left: float) -> CheckResult:
    try:
        return CheckResult(name, True, future.result(timeout=max(0.0, left)))
    except concurrent.futures.TimeoutError:
        return CheckResult(name, False, "no answer within the probe timeout")
    except Exception as exc:
        return CheckResult(name, False, _one_line(exc))


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


def _get(url: str, timeout_s: float, headers: Mapping[str, str] | None = None) -> int:
    request = urllib.request.Request(url, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def prometheus_check(url: str | None, timeout_s: float) -> Check:
    def check() -> str:
        if not url:
            raise RuntimeError("PROMETHEUS_URL is not set")
        status = _get(url.rstrip("/") + "/-/ready", min(timeout_s, 5.0))
        if status != 200:
            raise RuntimeError(f"{url}/-/ready answered {status}")
        return "ready"

    return check


def kubernetes_check(kubeconfig: Path | None) -> Check:
    """``/version`` through the kubernetes client, with the kubeconfig or in-cluster account."""
    client: list[Any] = []
    lock = threading.Lock()

    def api() -> Any:
        from kubernetes import client as k8s
        from kubernetes import config

        with lock:
            if not client:
                if kubeconfig is not None:
                    client.append(
                        config.new_client_from_config(config_file=str(kubeconfig))  # type: ignore[no-untyped-call]
                    )
                else:
                    configuration = k8s.Configuration()
                    config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
                    client.append(k8s.ApiClient(configuration))
            return client[0]

    def check() -> str:
        from kubernetes import client as k8s

        # Raw JSON: the answer is only read for its version, not validated as a model.
        raw: Any = k8s.VersionApi(api()).get_code(_request_timeout=5, _preload_content=False)
        return f"API server {json.loads(raw.data).get('gitVersion', 'unknown')}"

    return check


def terraform_check(terraform_bin: str) -> Check:
    """The same engine check ``sizer serve`` runs at start-up (``version``)."""

    def check() -> str:
        from bot.executors.terraform_engine import check_engine

        return check_engine(terraform_bin)

    return check


class _Cached:
    """A passing check is remembered for ``ttl_s``; a failing one is asked again next time."""

    def __init__(self, check: Check, ttl_s: float = 300.0) -> None:
        self._check = check
        self._ttl_s = ttl_s
        self._passed: tuple[float, str] | None = None

    def __call__(self) -> str:
        if self._passed is not None and time.monotonic() - self._passed[0] < self._ttl_s:
            return self._passed[1]
        detail = self._check()
        self._passed = (time.monotonic(), detail)
        return detail


def llm_check(base_url: str, api_key: str) -> Check:
    def check() -> str:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        status = _get(base_url.rstrip("/") + "/models", 5.0, headers)
        if status in (401, 403):
            raise RuntimeError(f"{base_url} refused OPENAI_API_KEY ({status})")
        if status >= 400:
            raise RuntimeError(f"{base_url}/models answered {status}")
        return "reachable"

    return check
