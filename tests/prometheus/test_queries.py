"""Label-matcher escaping and validation: bad names are refused before anything is sent."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from pydantic import ValidationError

from tools.prometheus import MetricSchema, PeerSelector, Workload
from tools.prometheus import queries as q


@pytest.mark.parametrize(
    "value",
    ['a"b', "cart.*", "cart|frontend", "Cart", "a\nb", "a\\b", "", "-a", "a" * 64, 'x"}or{'],
)
def test_matcher_rejects_what_is_not_dns1123(value: str) -> None:
    with pytest.raises(ValueError, match="DNS-1123"):
        q.matcher("container", value)


def test_matcher_quotes_a_valid_name() -> None:
    assert q.matcher("namespace", "online-boutique") == 'namespace="online-boutique"'
    assert q.selector(q.matcher("a", "x"), "", q.matcher("b", "y-1")) == '{a="x",b="y-1"}'


@pytest.mark.parametrize("label", ["bad-label", "1abc", 'a"', "a b"])
def test_matcher_rejects_bad_label_names(label: str) -> None:
    with pytest.raises(ValueError, match="label name"):
        q.matcher(label, "ok")


def test_value_matcher_allows_kubernetes_label_values_only() -> None:
    assert q.value_matcher("label_framework", "web.go") == 'label_framework="web.go"'
    for bad in ['a"b', "a|b", "a b", ".start", "end_", "a" * 64]:
        with pytest.raises(ValueError, match="label value"):
            q.value_matcher("label_framework", bad)


def test_escape_label_value_escapes_quote_backslash_newline() -> None:
    assert q.escape_label_value('a"b\\c\nd') == 'a\\"b\\\\c\\nd'


def test_workload_and_peer_selector_validate_before_any_query() -> None:
    with pytest.raises(ValidationError):
        Workload(name='cart"} or vector(1) #', namespace="default")
    with pytest.raises(ValidationError):
        Workload(name="cart", namespace="kube.*")
    with pytest.raises(ValidationError):
        PeerSelector(framework='grpc"}')
    with pytest.raises(ValidationError):
        PeerSelector(language="cobol")


def test_schema_rejects_names_that_would_change_a_query() -> None:
    with pytest.raises(ValidationError, match="metric name"):
        MetricSchema(request_rate_metric="http_requests_total{job=~'.*'}")
    with pytest.raises(ValidationError, match="label name"):
        MetricSchema(app_label="label_app,namespace")
    with pytest.raises(ValidationError, match="label name"):
        MetricSchema(team_label="__name__")


def test_peer_selector_builds_only_given_matchers() -> None:
    schema = MetricSchema(language_label="label_lang")
    sel = PeerSelector(namespace="shop", language="go", framework="web.go")
    assert sel.labels_selector(schema) == (
        '{namespace="shop",label_lang="go",label_framework="web.go"}'
    )
    assert PeerSelector().labels_selector(schema) == "{}"


def test_window_templates_are_aligned_to_five_minutes() -> None:
    sel = q.selector(q.CONTAINERS_ONLY)
    assert q.memory_window_mean(sel) == (
        'avg_over_time(container_memory_working_set_bytes{container!="",container!="POD"}'
        "[299999ms] offset 1ms)"
    )
    cpu = q.cpu_window_mean("{}")
    assert "offset 1ms" in cpu and "offset 300001ms" in cpu and cpu.endswith(">= 0")
    assert q.over_time("quantile_over_time", "x", 86400, 300, 0.95) == (
        "quantile_over_time(0.95, (x)[86400s:300s])"
    )
    with pytest.raises(ValueError):
        q.seconds(0)


def test_recording_rules_are_valid_for_promtool(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(q.recording_rules(MetricSchema(scrape_interval_s=30)), encoding="utf-8")
    done = subprocess.run(
        ["promtool", "check", "rules", str(rules)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 4 rules found" in done.stdout
