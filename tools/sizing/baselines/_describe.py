"""Shared wording for the ``window`` of a baseline's reasons, so every baseline says it alike."""

from __future__ import annotations

from tools.sizing.models import UsageHistory


def describe_window(history: UsageHistory) -> str:
    """'12.0 h, 720 samples, 1 pod' — what a person needs to judge how much evidence there was."""
    if not history.pods:
        return "no samples"
    pods = len(history.pods)
    hours = (history.end - history.start) / 3600
    return f"{hours:.1f} h, {history.samples} samples, {pods} pod{'s' if pods != 1 else ''}"


def cores_text(cores: float) -> str:
    return f"{cores * 1000:.0f}m"


def bytes_text(value: float) -> str:
    return f"{value / 2**20:.0f}Mi"
