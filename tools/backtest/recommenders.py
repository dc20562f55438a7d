"""Sizer and the baselines behind one call signature per mode.

A right-size recommender gets the service's history window and the policy. A cold-start
recommender gets a :class:`ColdStartCase`, which by construction holds nothing of the target's
usage: its metadata, the expected load, the replica count, and the other services' profiles and
histories.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial

from tools.sizing import coldstart, rightsize
from tools.sizing.baselines import autopilot_mw, krr_simple, nearest_peer, static, vpa
from tools.sizing.coldstart import ColdStartInput, ColdStartSettings
from tools.sizing.models import Policy, Recommendation, UsageHistory
from tools.sizing.profiles import PeerProfile
from tools.sizing.rightsize import RightsizeSettings

RightsizeRecommender = Callable[[UsageHistory, Policy], Recommendation]


@dataclass(frozen=True)
class ColdStartCase:
    """All a cold-start recommender may know about one target service."""

    target: ColdStartInput
    peer_profiles: tuple[PeerProfile, ...]
    peer_histories: tuple[UsageHistory, ...]
    policy: Policy

    def __post_init__(self) -> None:
        name = self.target.meta.name
        if any(p.meta.name == name for p in self.peer_profiles) or any(
            h.service == name for h in self.peer_histories
        ):
            raise ValueError(f"cold-start peers of {name} include {name} itself")


ColdStartRecommender = Callable[[ColdStartCase], Recommendation]


def _static_rightsize(history: UsageHistory, policy: Policy) -> Recommendation:
    return static.recommend(history.service, history.replicas())


def _sizer_cold_start(case: ColdStartCase, settings: ColdStartSettings) -> Recommendation:
    return coldstart.recommend(case.target, case.peer_profiles, case.policy, settings)


def _nearest_peer(case: ColdStartCase) -> Recommendation:
    return nearest_peer.recommend(case.target, case.peer_histories, case.policy)


def _static_cold_start(case: ColdStartCase) -> Recommendation:
    return static.recommend(case.target.meta.name, case.target.replicas or 1)


def rightsize_recommenders(
    settings: RightsizeSettings | None = None,
) -> Mapping[str, RightsizeRecommender]:
    """Sizer (with ``settings``, e.g. from ``SIZER_RIGHTSIZE__*``) and the baselines."""
    return {
        "sizer": partial(rightsize.recommend, settings=settings or RightsizeSettings()),
        "vpa": vpa.recommend,
        "krr-simple": krr_simple.recommend,
        "autopilot-mw": autopilot_mw.recommend,
        "static": _static_rightsize,
    }


def cold_start_recommenders(
    settings: ColdStartSettings | None = None,
) -> Mapping[str, ColdStartRecommender]:
    """Sizer (with ``settings``, e.g. from ``SIZER_COLDSTART__*``) and the baselines."""
    return {
        "sizer": partial(_sizer_cold_start, settings=settings or ColdStartSettings()),
        "nearest-peer": _nearest_peer,
        "static": _static_cold_start,
    }


RIGHTSIZE: Mapping[str, RightsizeRecommender] = rightsize_recommenders()
COLD_START: Mapping[str, ColdStartRecommender] = cold_start_recommenders()
