"""Proposals, their state machine, the audit stream, locks and who may approve (Redis).

Public API: :mod:`.models` (what a proposal is), :mod:`.store` (compare-and-set transitions),
:mod:`.audit` (the append-only stream), :mod:`.locks` (per-workload apply lock, event dedupe),
:mod:`.access` (approvers per namespace, capacity bounds for edits).
"""
