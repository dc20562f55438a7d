"""Choosing the peers a new service is sized against, most similar first.

Tiers, narrowest first: services the requester named as similar; same language and
framework; same language; same kind; every service. The first tier with enough peers wins,
so a FastAPI service is sized from Python web services when there are some, and from the
whole catalog only when nothing closer exists. The tier is part of every reason shown.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tools.sizing.models import ServiceMeta
from tools.sizing.profiles import PeerProfile


@dataclass(frozen=True)
class PeerGroup:
    tier: str
    peers: tuple[PeerProfile, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.meta.name for p in self.peers)


NAMED_TIER = "named similar services"


def _tiers(
    meta: ServiceMeta, similar: Sequence[str]
) -> list[tuple[str, Callable[[PeerProfile], bool]]]:
    named = set(similar)
    return [
        (NAMED_TIER, lambda p: p.meta.name in named),
        (
            f"same language and framework ({meta.language}/{meta.framework})",
            lambda p: (
                meta.language is not None
                and meta.framework is not None
                and p.meta.language == meta.language
                and p.meta.framework == meta.framework
            ),
        ),
        (
            f"same language ({meta.language})",
            lambda p: meta.language is not None and p.meta.language == meta.language,
        ),
        (f"same kind ({meta.kind})", lambda p: p.meta.kind == meta.kind),
        ("all services in the catalog", lambda p: True),
    ]


def select_peers(
    meta: ServiceMeta,
    similar: Sequence[str],
    peers: Sequence[PeerProfile],
    min_peers: int,
) -> PeerGroup:
    """The narrowest tier with at least ``min_peers`` peers (named ones need only one)."""
    candidates = [p for p in peers if p.meta.name != meta.name]
    if not candidates:
        raise ValueError("no peer services to size from; load a history first")
    for index, (tier, keep) in enumerate(_tiers(meta, similar)):
        chosen = tuple(p for p in candidates if keep(p))
        needed = 1 if index == 0 else min_peers
        if len(chosen) >= needed:
            return PeerGroup(tier, chosen)
    return PeerGroup("all services in the catalog", tuple(candidates))
