"""The words every part of Sizer agrees on: Kubernetes names, languages, kinds of service.

Kept apart from the engine's models (free of numpy and pydantic) so the command line, the
grammar and the settings can check a name without loading the engine. Patterns validate whole
strings: ``fullmatch``, never ``match`` with ``$`` (which accepts a trailing newline).
"""

from __future__ import annotations

import re
from typing import Literal

__all__ = [
    "DNS1123_LABEL",
    "KINDS",
    "LANGUAGES",
    "Kind",
    "Language",
    "check_dns1123",
    "is_dns1123",
]

DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
Language = Literal["go", "java", "python", "nodejs", "csharp", "cpp", "ruby", "php", "rust"]
LANGUAGES: tuple[str, ...] = Language.__args__  # type: ignore[attr-defined]
Kind = Literal["http", "grpc", "gateway", "frontend", "worker", "vm"]
KINDS: tuple[str, ...] = Kind.__args__  # type: ignore[attr-defined]


def is_dns1123(text: str) -> bool:
    """A name Kubernetes accepts for a namespace, workload or label: the whole text, ≤ 63."""
    return len(text) <= 63 and DNS1123_LABEL.fullmatch(text) is not None


def check_dns1123(name: str) -> str:
    """Reject names Kubernetes would reject, with the rule in the message."""
    if not is_dns1123(name):
        raise ValueError(
            f"{name!r} is not a DNS-1123 label: use 1-63 lower-case letters, digits and '-', "
            "starting and ending with a letter or digit"
        )
    return name
