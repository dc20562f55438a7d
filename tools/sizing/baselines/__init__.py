"""Reference recommenders the sizing benchmark compares Sizer against.

Each module re-implements one published recommender from its public description and source,
with every constant named and its origin cited, so the comparison is against the real thing
and not a straw man:

- :mod:`.vpa` — Kubernetes Vertical Pod Autoscaler recommender (decaying histograms);
- :mod:`.krr_simple` — Robusta KRR ``simple`` strategy (percentile CPU, peak memory);
- :mod:`.autopilot_mw` — Google Autopilot moving-window recommender (Rzadca et al. 2020);
- :mod:`.static` — one fixed default size for every service;
- :mod:`.nearest_peer` — cold start: the KRR-simple size of the most similar other service.

All are pure functions of typed inputs (numpy + pydantic, no I/O) returning a
:class:`~tools.sizing.models.Recommendation` whose reasons name the statistic behind each number.
:mod:`.vpa_windows` and :mod:`.autopilot_windows` give VPA's and Autopilot's answers, to the
last bit, for the thousands of overlapping windows a closed-loop replay reads, computed
together.
"""
