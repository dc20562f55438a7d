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
    "FRAMEWORK_LANGUAGE",
    "KINDS",
    "LANGUAGES",
    "Kind",
    "Language",
    "check_dns1123",
    "framework_problem",
    "frameworks_of",
    "is_dns1123",
]

# Anchored as well, so a stray .match() or .search() cannot accept a prefix or a trailing \n.
DNS1123_LABEL = re.compile(r"\A[a-z0-9]([-a-z0-9]*[a-z0-9])?\Z")
Language = Literal["go", "java", "python", "nodejs", "csharp", "cpp", "ruby", "php", "rust"]
LANGUAGES: tuple[str, ...] = Language.__args__  # type: ignore[attr-defined]
Kind = Literal["http", "grpc", "gateway", "frontend", "worker", "vm"]
KINDS: tuple[str, ...] = Kind.__args__  # type: ignore[attr-defined]
# The frameworks Sizer knows, each with the one language it is written in: a framework of
# another language than the one stated is a slip to point out, not a peer to match on.
# Any other framework name is kept as said.
FRAMEWORK_LANGUAGE: dict[str, Language] = {
    "fastapi": "python",
    "flask": "python",
    "django": "python",
    "tornado": "python",
    "starlette": "python",
    "aiohttp": "python",
    "celery": "python",
    "spring-boot": "java",
    "quarkus": "java",
    "micronaut": "java",
    "express": "nodejs",
    "nestjs": "nodejs",
    "nextjs": "nodejs",
    "fastify": "nodejs",
    "koa": "nodejs",
    "gin": "go",
    "echo": "go",
    "fiber": "go",
    "gorilla-mux": "go",
    "rails": "ruby",
    "sinatra": "ruby",
    "laravel": "php",
    "symfony": "php",
    "aspnet": "csharp",
    "actix": "rust",
    "axum": "rust",
}


def is_dns1123(text: str) -> bool:
    """A name Kubernetes accepts for a namespace, workload or label: the whole text, ≤ 63."""
    return len(text) <= 63 and DNS1123_LABEL.fullmatch(text) is not None


def frameworks_of(language: str) -> tuple[str, ...]:
    """The known frameworks of ``language``, sorted."""
    return tuple(sorted(f for f, lang in FRAMEWORK_LANGUAGE.items() if lang == language))


def framework_problem(language: str | None, framework: str | None) -> str | None:
    """Why ``framework`` cannot be a ``language`` service, or None when it can (or is unknown)."""
    written_in = FRAMEWORK_LANGUAGE.get(framework or "")
    if language is None or written_in is None or written_in == language:
        return None
    known = frameworks_of(language)
    listed = (
        f"the {language} frameworks Sizer knows are {', '.join(known)}"
        if known
        else (f"Sizer knows no {language} frameworks")
    )
    return f"{framework} is a {written_in} framework, not {language}; {listed}"


def check_dns1123(name: str) -> str:
    """Reject names Kubernetes would reject, with the rule in the message."""
    if not is_dns1123(name):
        raise ValueError(
            f"{name!r} is not a DNS-1123 label: use 1-63 lower-case letters, digits and '-', "
            "starting and ending with a letter or digit"
        )
    return name
