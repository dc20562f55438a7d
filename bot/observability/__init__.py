"""Sizer watching itself: health and readiness probes, Prometheus metrics, structured logs.

``metrics`` holds the one registry and every metric; the other modules are imported only by
the runtime that serves them, so instrumenting a module costs one import of ``metrics``.
"""
