"""The sizing benchmark as a library: replay a trace, size every service, score the sizes.

- :mod:`.windows` — which samples a recommender sees and which it is scored on, per mode;
- :mod:`.recommenders` — Sizer and the baselines behind one signature per mode;
- :mod:`.runner` — replays a loaded trace and scores every recommendation;
- :mod:`.results` — the typed result, which is also the JSON document;
- :mod:`.summary` — per-recommender aggregates and the benchmark's goals;
- :mod:`.report` — JSON file and rich table.
"""
