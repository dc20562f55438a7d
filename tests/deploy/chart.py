"""Rendering the Helm chart with the real Helm engine (Helm's Go SDK through helm-python-sdk)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

CHART = Path(__file__).resolve().parents[2] / "deploy" / "helm" / "sizer"


def render(
    values: dict[str, Any] | None = None, *, name: str = "sizer", namespace: str = "sizer"
) -> list[dict[str, Any]]:
    """Every object the chart renders for ``values``, in template order."""
    with helm.Chart.load(str(CHART)) as chart:
        manifests = chart.render(values or {}, name=name, namespace=namespace)
    docs: list[dict[str, Any]] = []
    for path in sorted(manifests):
        docs += [d for d in yaml.safe_load_all(manifests[path]) if d]
    return docs
