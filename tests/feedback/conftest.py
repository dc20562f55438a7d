"""Fixtures for the checks: the real Prometheus of tests/prometheus (backfilled, time-shifted
traces with OOM kills), a second one standing for another cluster (:mod:`.cluster_b`), real
Redis under a unique prefix, and a recording thread poster."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.approvals.access import AccessConfig
from bot.approvals.models import Proposal
from tests.feedback.cluster_b import prom_b
from tests.prometheus.conftest import prom, schema

__all__ = ["ACCESS", "Posted", "RecordingPoster", "prom", "prom_b", "schema"]

ACCESS = AccessConfig.model_validate(
    {
        "namespaces": {
            ns: {"approvers": {"users": ["UAPPROVER"]}}
            for ns in ("lab", "online-boutique", "team-a")
        }
    }
)


@dataclass
class Posted:
    kind: str
    proposal: Proposal
    text: str = ""
    blocks: list[dict[str, Any]] = field(default_factory=list)
    png: bytes = b""


class RecordingPoster:
    """Records what a check would post in the thread."""

    def __init__(self) -> None:
        self.posted: list[Posted] = []

    def post(self, proposal: Proposal, text: str, blocks: list[dict[str, Any]]) -> None:
        self.posted.append(Posted("message", proposal, text, blocks))

    def upload(self, proposal: Proposal, png: bytes, filename: str, title: str) -> None:
        self.posted.append(Posted("chart", proposal, filename, png=png))

    def card(self, proposal: Proposal) -> None:
        self.posted.append(Posted("card", proposal))

    def messages(self) -> list[Posted]:
        return [p for p in self.posted if p.kind == "message"]


@pytest.fixture
def poster() -> Iterator[RecordingPoster]:
    yield RecordingPoster()
