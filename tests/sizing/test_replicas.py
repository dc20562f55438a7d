from dataclasses import dataclass

import pytest

from tools.sizing import replicas
from tools.sizing.models import Policy


@dataclass(frozen=True)
class Cost:
    idle_cores: float
    cores_per_rps: float


POLICY = Policy(max_pod_cpu_cores=1.0, target_utilisation=0.5)


@pytest.mark.parametrize(
    ("rps", "critical", "expected"),
    [
        (0, False, 2),  # no load: the spread floor
        (10, False, 2),  # capacity (0.5 − 0.0) / 0.01 = 50 req/s per pod → 1, floor 2
        (10, True, 3),  # critical floor
        (200, False, 4),  # 200 / 50 = 4
        (201, False, 5),  # ceil(4.02)
    ],
)
def test_replicas_from_peak_load(rps: float, critical: bool, expected: int) -> None:
    result = replicas.plan(rps, Cost(0.0, 0.01), POLICY, critical=critical)
    assert result.replicas == expected
    assert result.reason.field == "replicas" and result.reason.value == expected


def test_idle_cost_reduces_capacity() -> None:
    # (0.5 − 0.1) / 0.01 = 40 req/s per pod → 200 req/s needs 5
    result = replicas.plan(200, Cost(0.1, 0.01), POLICY)
    assert result.pod_capacity_rps == pytest.approx(40)
    assert result.replicas == 5


def test_capped_at_policy_maximum() -> None:
    result = replicas.plan(1e6, Cost(0.0, 0.01), Policy(max_replicas=10))
    assert result.replicas == 10
    assert "capped" in result.reason.text


def test_no_per_request_cost_keeps_the_floor() -> None:
    result = replicas.plan(500, Cost(0.2, 0.0), POLICY)
    assert result.replicas == 2 and result.pod_capacity_rps is None
