"""Kubernetes names as people type them: checked as DNS-1123 labels with a full match."""

from __future__ import annotations

import re

__all__ = ["LABEL", "NAME_RULE", "is_label", "name_problem"]

LABEL = re.compile(r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?")
NAME_RULE = (
    "use 1-63 lower-case letters, digits and '-', starting and ending with a letter or digit"
)


def is_label(text: str) -> bool:
    """A DNS-1123 label with a letter in it (a number or a range is never a service name)."""
    return LABEL.fullmatch(text) is not None and re.search(r"[a-z]", text) is not None


def name_problem(what: str, value: str) -> str:
    return f"{what} {value!r} is not a valid Kubernetes name: {NAME_RULE}"
