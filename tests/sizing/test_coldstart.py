import math
import re

import numpy as np
import pytest

from tools.sizing import coldstart
from tools.sizing.models import Policy, ServiceMeta
from tools.sizing.peers import select_peers
from tools.sizing.profiles import PeerProfile

MiB = 2**20
POLICY = Policy()


def peer(
    name: str,
    language: str | None,
    framework: str | None,
    *,
    mem_p95: float,
    mem_max: float | None = None,
    cpu_p95: float = 0.01,
    rps_p95: float | None = None,
    kind: str = "http",
) -> PeerProfile:
    return PeerProfile(
        meta=ServiceMeta(name=name, language=language, framework=framework, kind=kind),  # type: ignore[arg-type]
        pods=1,
        hours=24,
        cpu_p50=cpu_p95 / 2,
        cpu_p95=cpu_p95,
        cpu_max=cpu_p95 * 3,
        mem_p50=mem_p95 * 0.9,
        mem_p95=mem_p95,
        mem_max=mem_max if mem_max is not None else mem_p95 * 1.1,
        rps_p50=None if rps_p95 is None else rps_p95 / 2,
        rps_p95=rps_p95,
    )


JAVA = [peer(f"java-{i}", "java", "spring-boot", mem_p95=(400 + 10 * i) * MiB) for i in range(5)]
GO = [peer(f"go-{i}", "go", "grpc", mem_p95=(30 + i) * MiB) for i in range(4)]
PY = [
    peer("py-0", "python", "flask", mem_p95=80 * MiB),
    peer("py-1", "python", "django", mem_p95=120 * MiB),
]
CATALOG = JAVA + GO + PY


def meta(language: str | None, framework: str | None = None, kind: str = "http") -> ServiceMeta:
    return ServiceMeta(name="new-svc", language=language, framework=framework, kind=kind)  # type: ignore[arg-type]


def test_peer_tiers_narrowest_first() -> None:
    assert select_peers(meta("java", "spring-boot"), (), CATALOG, 3).names == tuple(
        p.meta.name for p in JAVA
    )
    # only two python services: too few for the language tier, so kind (http) wins
    group = select_peers(meta("python", "fastapi"), (), CATALOG, 3)
    assert group.tier.startswith("same kind")
    assert len(group.peers) == len(CATALOG)
    # named similar services win even when there is only one
    named = select_peers(meta("python", "fastapi"), ("py-1",), CATALOG, 3)
    assert named.names == ("py-1",) and named.tier == "named similar services"


def test_memory_request_is_the_peer_median_and_reasons_name_peers() -> None:
    rec = coldstart.recommend(
        coldstart.ColdStartInput(meta=meta("java", "spring-boot")), CATALOG, POLICY
    )
    assert rec.memory_request_bytes == pytest.approx(420 * MiB, abs=1)
    reason = rec.reason("memory_request")
    assert reason is not None and set(reason.peers) == {p.meta.name for p in JAVA}
    assert rec.memory_limit_bytes is not None and rec.memory_limit_bytes >= rec.memory_request_bytes


def test_cpu_scales_with_load_along_the_peers_line() -> None:
    # peers follow cpu = 2m + 0.5m × rps exactly
    peers = [
        peer(f"api-{r}", "go", "grpc", mem_p95=50 * MiB, cpu_p95=0.002 + 0.0005 * r, rps_p95=r)
        for r in (1, 5, 10, 40)
    ]
    model = coldstart.fit_cpu_model(meta("go", "grpc"), (), peers)
    assert model.idle_cores == pytest.approx(0.002)
    assert model.cores_per_rps == pytest.approx(0.0005)
    rec = coldstart.recommend(
        coldstart.ColdStartInput(meta=meta("go", "grpc"), rps_p95_per_pod=100), peers, POLICY
    )
    assert rec.cpu_request_cores == pytest.approx(0.002 + 0.05)


def test_one_odd_peer_does_not_bend_the_cpu_line() -> None:
    peers = [
        peer(f"api-{r}", "go", "grpc", mem_p95=50 * MiB, cpu_p95=0.001 * r, rps_p95=r)
        for r in (1, 2, 3, 4, 5)
    ]
    peers.append(peer("odd", "go", "grpc", mem_p95=50 * MiB, cpu_p95=2.0, rps_p95=6))
    model = coldstart.fit_cpu_model(meta("go", "grpc"), (), peers)
    assert model.cores_per_rps == pytest.approx(0.001, rel=0.3)


def test_without_rates_cpu_is_the_peer_median() -> None:
    rec = coldstart.recommend(
        coldstart.ColdStartInput(meta=meta("java", "spring-boot")), JAVA, POLICY
    )
    assert rec.cpu_request_cores == pytest.approx(0.01)


def test_split_conformal_multiplier_uses_the_right_rank() -> None:
    # 20 identical peers except their peaks: ratio to the median peak is known per peer
    peaks = [100 + i for i in range(20)]
    peers = [
        peer(f"s-{i}", "go", "grpc", mem_p95=90 * MiB, mem_max=peaks[i] * MiB) for i in range(20)
    ]
    settings = coldstart.ColdStartSettings(oom_risk=0.1)
    cal = coldstart.calibrate_peak(peers, settings)
    ratios = []
    for i in range(20):
        others = sorted(peaks[:i] + peaks[i + 1 :])
        ratios.append(peaks[i] / others[9])  # median of the 19 others
    ratios.sort()
    rank = math.ceil(21 * 0.9)  # 19th smallest of 20
    assert cal.exact and cal.peers == 20
    assert cal.multiplier == pytest.approx(max(ratios[rank - 1], 1.0))


def test_too_few_peers_fall_back_to_the_largest_ratio_and_say_so() -> None:
    cal = coldstart.calibrate_peak(GO, coldstart.ColdStartSettings(oom_risk=0.05))
    assert not cal.exact
    rec = coldstart.recommend(coldstart.ColdStartInput(meta=meta("go", "grpc")), GO, POLICY)
    reason = rec.reason("memory_limit")
    assert reason is not None and "too few" in reason.text


def test_calibrated_limit_keeps_most_services_under_it() -> None:
    """Leave-one-out over a catalog: the share of services whose peak exceeds the limit
    predicted for them from the others stays near the configured risk."""
    import numpy as np

    rng = np.random.default_rng(7)
    peers = [
        peer(
            f"s-{i}",
            "java",
            "spring-boot",
            mem_p95=float(m) * MiB,
            mem_max=float(m * rng.uniform(1.0, 1.4)) * MiB,
        )
        for i, m in enumerate(rng.uniform(300, 600, 60))
    ]
    over = 0
    for target in peers:
        others = [p for p in peers if p is not target]
        rec = coldstart.recommend(coldstart.ColdStartInput(meta=target.meta), others, POLICY)
        assert rec.memory_limit_bytes is not None
        over += target.mem_max > rec.memory_limit_bytes
    assert over / len(peers) <= 0.1


def test_equal_request_policy() -> None:
    rec = coldstart.recommend(
        coldstart.ColdStartInput(meta=meta("java", "spring-boot")),
        CATALOG,
        Policy(memory_limit="equal-request"),
    )
    assert rec.memory_request_bytes == rec.memory_limit_bytes


def test_no_peers_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no peer services"):
        coldstart.recommend(coldstart.ColdStartInput(meta=meta("go")), [], POLICY)


def test_a_jvm_with_no_jvm_peers_gets_the_runtime_floor_as_limit() -> None:
    rec = coldstart.recommend(coldstart.ColdStartInput(meta=meta("java", "grpc")), GO + PY, POLICY)
    assert rec.memory_limit_bytes == 512 * MiB
    reason = rec.reason("memory_limit")
    assert reason is not None and "no other JVM service" in reason.text
    # with JVM peers the floor does not apply: the peers speak for the runtime
    with_peers = coldstart.recommend(
        coldstart.ColdStartInput(meta=meta("java", "grpc")), CATALOG, POLICY
    )
    limit_reason = with_peers.reason("memory_limit")
    assert limit_reason is not None and "no other JVM" not in limit_reason.text


def test_services_without_a_look_alike_get_their_own_wider_multiplier() -> None:
    """Odd services (another framework or kind than every peer) err far more than the rest;
    they must neither widen the limits of ordinary services nor be left under-covered."""
    rng = np.random.default_rng(3)
    usual = [
        peer(f"api-{i}", "java", "spring-boot", mem_p95=400 * MiB, mem_max=float(m) * MiB)
        for i, m in enumerate(rng.uniform(440, 480, 30))
    ]
    odd = [
        peer("gw", "java", "netty", mem_p95=600 * MiB, mem_max=900 * MiB, kind="gateway"),
        peer("queue", "java", "spring-boot", mem_p95=500 * MiB, mem_max=700 * MiB, kind="worker"),
        peer("batch", "java", "quarkus", mem_p95=550 * MiB, mem_max=800 * MiB, kind="worker"),
    ]
    catalog = usual + odd
    cal = coldstart.calibrate_peak(catalog, coldstart.ColdStartSettings())
    assert cal.alike.peers == 30 and cal.unlike.peers == 3
    assert cal.alike.multiplier < 1.15 < cal.unlike.multiplier

    ordinary = coldstart.recommend(
        coldstart.ColdStartInput(meta=meta("java", "spring-boot")), catalog, POLICY
    )
    assert ordinary.memory_limit_bytes is not None
    assert ordinary.memory_limit_bytes < 1.15 * 480 * MiB
    new_gateway = coldstart.recommend(
        coldstart.ColdStartInput(meta=meta("java", "vertx", kind="gateway")), catalog, POLICY
    )
    reason = new_gateway.reason("memory_limit")
    assert reason is not None and "no peer shares its language, framework and kind" in reason.text
    # the multiplier is set off from how it was found: "×2.50: no peer shares …"
    assert re.search(r"; ×\d+\.\d\d: no peer shares", reason.text)
    assert new_gateway.memory_limit_bytes is not None
    assert new_gateway.memory_limit_bytes >= 900 * MiB
    # held out one at a time, every odd service stays under the limit sized from the rest
    for target in odd:
        others = [p for p in catalog if p is not target]
        rec = coldstart.recommend(coldstart.ColdStartInput(meta=target.meta), others, POLICY)
        assert rec.memory_limit_bytes is not None and target.mem_max <= rec.memory_limit_bytes


def test_tail_extrapolation_is_bounded_and_never_below_the_largest_ratio() -> None:
    settings = coldstart.ColdStartSettings(max_tail_multiplier=2.0)
    wide = coldstart.coverage([0.01, 0.5, 1.5], settings)
    assert wide.method == "log-normal tail" and wide.multiplier == 2.0 and wide.capped
    above_cap = coldstart.coverage([0.9, 3.0], settings)
    assert above_cap.multiplier == 3.0 and not above_cap.capped
    many = coldstart.coverage([1.0 + i / 1000 for i in range(200)], settings)
    assert many.method == "rank" and many.exact
