"""Peers by meaning: "the cart service", "cart", "cart-svc" → ``cartservice``.

A query is matched against the names the cluster and the history know. Generic words
(service, svc, api, app) are dropped from both sides first, so "cart service" and
``cartservice`` share the core "cart"; what is left is compared with rapidfuzz. One clear
winner is used (and said); several close ones are an ambiguity to ask about; a number is never
a service name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

__all__ = ["PeerMatch", "resolve_peer"]

_GENERIC = ("service", "svc", "srv", "api", "app", "server", "the")
CUTOFF = 80.0
CLOSE = 6.0


@dataclass(frozen=True)
class PeerMatch:
    """What a peer query resolved to: ``name`` if one, ``choices`` if it is ambiguous."""

    query: str
    name: str | None = None
    exact: bool = False
    choices: tuple[str, ...] = field(default=())


def core(name: str) -> str:
    """``cart-svc``, "the cart service", ``cartservice`` → ``cart``."""
    words = [w for w in re.split(r"[^a-z0-9]+", name.lower()) if w and w not in _GENERIC]
    joined = "".join(words)
    for suffix in ("service", "svc", "srv", "server"):
        if joined.endswith(suffix) and len(joined) > len(suffix):
            joined = joined[: -len(suffix)]
    return joined


def _tokens(name: str) -> set[str]:
    return {w for w in re.split(r"[^a-z0-9]+", name.lower()) if w and w not in _GENERIC}


def resolve_peer(query: str, known: Iterable[str]) -> PeerMatch:
    """The known service ``query`` means, the choices if several fit, or neither."""
    names = sorted(set(known))
    q = query.strip().lower()
    if not q or q.replace(" ", "").isdigit():
        return PeerMatch(query)
    if q in names:
        return PeerMatch(query, q, exact=True)
    q_core = core(q)
    if not q_core:
        return PeerMatch(query)
    same = [n for n in names if core(n) == q_core]
    if len(same) == 1:
        return PeerMatch(query, same[0], exact=True)
    if len(same) > 1:
        return PeerMatch(query, choices=tuple(same[:5]))
    wanted = _tokens(q)
    holding = sorted(
        (n for n in names if wanted and wanted <= _tokens(n)),
        key=lambda n: (len(_tokens(n) - wanted), n),
    )
    if len(holding) == 1:
        return PeerMatch(query, holding[0])
    if holding:
        return PeerMatch(query, choices=tuple(holding[:5]))
    cores = {n: core(n) for n in names}
    scored = process.extract(q_core, cores, scorer=fuzz.WRatio, limit=5, score_cutoff=CUTOFF)
    if not scored:
        return PeerMatch(query)
    best = scored[0][1]
    close = [key for _, score, key in scored if best - score <= CLOSE]
    if len(close) == 1:
        return PeerMatch(query, str(close[0]))
    return PeerMatch(query, choices=tuple(str(c) for c in close))
