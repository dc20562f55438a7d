"""Learning from outcomes: factors per runtime and namespace, shrunk, bounded, and shown."""

from __future__ import annotations

import pytest

from tools.sizing import coldstart
from tools.sizing.models import Policy, ServiceMeta
from tools.sizing.outcomes import (
    CalibrationSettings,
    ObservedUsage,
    Outcome,
    PeerPrediction,
    ProposedSize,
    calibrate,
)
from tools.sizing.profiles import PeerProfile

MiB = 2**20


def outcome(
    name: str,
    ratio: float,
    *,
    language: str = "python",
    framework: str = "flask",
    namespace: str | None = None,
    peak_ratio: float | None = None,
    cpu_ratio: float = 1.0,
) -> Outcome:
    return Outcome(
        service=name,
        namespace=namespace,
        meta=ServiceMeta(name=name, language=language, framework=framework),  # type: ignore[arg-type]
        predicted=PeerPrediction(
            cpu_cores=0.1,
            memory_p95_bytes=100 * MiB,
            memory_peak_bytes=120 * MiB,
            tier="same language",
            peers=("a", "b"),
        ),
        proposed=ProposedSize(cpu_request_cores=0.1, memory_request_bytes=100 * MiB),
        observed=ObservedUsage(
            cpu_p95_cores=0.1 * cpu_ratio,
            memory_p95_bytes=100 * MiB * ratio,
            memory_max_bytes=120 * MiB * (peak_ratio if peak_ratio is not None else ratio),
            hours=24,
        ),
    )


PY = ServiceMeta(name="new-py", language="python", framework="flask")


def test_consistent_outcomes_move_the_factor_and_few_move_it_less() -> None:
    many = calibrate([outcome(f"s{i}", 1.6) for i in range(20)])
    few = calibrate([outcome(f"s{i}", 1.6) for i in range(2)])
    assert many.correction(PY).memory == pytest.approx(1.6, rel=0.15)
    assert 1.0 < few.correction(PY).memory < many.correction(PY).memory
    note = many.correction(PY).memory_notes[0]
    assert note.startswith("python/flask services here used 1.") and note.endswith("corrected")
    assert "20 outcomes" in note


def test_noisy_outcomes_are_shrunk_harder_than_consistent_ones() -> None:
    consistent = calibrate([outcome(f"s{i}", 1.5) for i in range(6)])
    noisy = calibrate([outcome(f"s{i}", r) for i, r in enumerate([0.3, 6, 0.5, 5, 0.8, 4])])
    # both have about the same geometric mean (1.5×); the noisy one is not believed as much
    assert abs(noisy.correction(PY).memory - 1) < abs(consistent.correction(PY).memory - 1)


def test_factors_are_bounded_and_the_peak_is_never_lowered() -> None:
    s = CalibrationSettings(max_factor=2.0, prior_outcomes=0)
    wild = calibrate([outcome(f"s{i}", 50.0) for i in range(10)], s)
    assert wild.correction(PY).memory == pytest.approx(2.0)
    lower = calibrate([outcome(f"s{i}", 0.5) for i in range(20)])
    fix = lower.correction(PY)
    assert fix.memory < 0.7 and fix.peak == 1.0


def test_namespace_learns_what_the_runtime_leaves_over() -> None:
    # flask services use 1.5× everywhere; in namespace "batch" they use 1.5× more again
    rows = [outcome(f"a{i}", 1.5, namespace="shop") for i in range(10)]
    rows += [outcome(f"b{i}", 2.25, namespace="batch") for i in range(10)]
    learnt = calibrate(rows)
    shop = learnt.correction(PY, "shop").memory
    batch = learnt.correction(PY, "batch").memory
    assert batch / shop == pytest.approx(1.5, rel=0.2)
    other_runtime = ServiceMeta(name="x", language="go", framework="grpc")
    assert learnt.correction(other_runtime).memory == 1.0
    assert learnt.correction(other_runtime, "batch").memory > 1.1


def test_cold_start_applies_the_correction_and_says_so() -> None:
    peers = [
        PeerProfile(
            meta=ServiceMeta(name=f"p{i}", language="python", framework="flask"),
            pods=1,
            hours=24,
            cpu_p50=0.01,
            cpu_p95=0.02,
            cpu_max=0.05,
            mem_p50=90 * MiB,
            mem_p95=100 * MiB,
            mem_max=110 * MiB,
        )
        for i in range(5)
    ]
    target = coldstart.ColdStartInput(meta=PY)
    plain = coldstart.recommend(target, peers, Policy())
    learnt = calibrate([outcome(f"s{i}", 1.6, peak_ratio=1.6) for i in range(20)])
    fixed = coldstart.recommend(target, peers, Policy(), correction=learnt.correction(PY))
    assert fixed.memory_request_bytes == pytest.approx(plain.memory_request_bytes * 1.6, rel=0.15)
    assert fixed.memory_limit_bytes is not None and plain.memory_limit_bytes is not None
    assert fixed.memory_limit_bytes > plain.memory_limit_bytes
    reason = fixed.reason("memory_request")
    assert reason is not None and "python/flask services here used" in reason.text
    assert "corrected" in reason.text


def test_a_single_outcome_makes_no_factor() -> None:
    # Nothing to check it against: the factor must predict an outcome it was not learnt from.
    one = calibrate([outcome("s0", 1.6)])
    assert one.correction(PY).memory == 1.0
    assert one.correction(PY).memory_notes == ()


def test_a_factor_that_does_not_predict_held_out_outcomes_is_dropped() -> None:
    # Errors that are each service's own (4x over, 4x under, ...) average to a factor that
    # would bring no held-out size closer: it is not applied, whatever their mean.
    scattered = [0.25, 4.0, 0.3, 3.5, 0.28, 5.0, 0.9]
    learnt = calibrate([outcome(f"s{i}", r) for i, r in enumerate(scattered)])
    assert learnt.correction(PY).memory == 1.0
    shared = [1.5, 1.7, 1.6, 1.4, 1.8, 1.55, 1.65]
    kept = calibrate([outcome(f"s{i}", r) for i, r in enumerate(shared)])
    assert kept.correction(PY).memory > 1.3


def test_the_held_out_check_judges_the_proposed_size_not_the_prediction() -> None:
    # Used 1.5x the prediction, but cold start had already proposed 1.5x it: the sizes were
    # right, and a factor would only make them too big.
    def padded(name: str) -> Outcome:
        o = outcome(name, 1.5)
        return o.model_copy(
            update={
                "proposed": ProposedSize(cpu_request_cores=0.1, memory_request_bytes=int(150 * MiB))
            }
        )

    learnt = calibrate([padded(f"s{i}") for i in range(8)])
    assert learnt.correction(PY).memory == 1.0
