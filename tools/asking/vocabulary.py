"""The words people use for languages, frameworks and kinds of workload, mapped to the model's.

Aliases are matched as whole words, longest first, so "spring boot" wins over "spring" and
"node.js" over "node". "go" alone is an English verb too: it counts only where it cannot be
one ("in go", "a go service", ", go,").
"""

from __future__ import annotations

import re

from tools.sizing.vocabulary import FRAMEWORK_LANGUAGE

__all__ = [
    "FRAMEWORKS",
    "KIND_WORDS",
    "LANGUAGE_WORDS",
    "find_framework",
    "find_kind",
    "find_language",
]

_FRAMEWORK_WORDS: dict[str, str] = {
    # word in text → framework (its language is in tools.sizing.vocabulary)
    "fastapi": "fastapi",
    "flask": "flask",
    "django": "django",
    "tornado": "tornado",
    "starlette": "starlette",
    "aiohttp": "aiohttp",
    "celery": "celery",
    "spring boot": "spring-boot",
    "spring-boot": "spring-boot",
    "springboot": "spring-boot",
    "spring": "spring-boot",
    "quarkus": "quarkus",
    "micronaut": "micronaut",
    "express": "express",
    "express.js": "express",
    "expressjs": "express",
    "nestjs": "nestjs",
    "nest.js": "nestjs",
    "next.js": "nextjs",
    "nextjs": "nextjs",
    "fastify": "fastify",
    "koa": "koa",
    "gin": "gin",
    "echo": "echo",
    "fiber": "fiber",
    "gorilla": "gorilla-mux",
    "rails": "rails",
    "ruby on rails": "rails",
    "sinatra": "sinatra",
    "laravel": "laravel",
    "symfony": "symfony",
    "asp.net core": "aspnet",
    "asp.net": "aspnet",
    "aspnet": "aspnet",
    "actix": "actix",
    "axum": "axum",
}
# word in text → (framework, language)
FRAMEWORKS: dict[str, tuple[str, str]] = {
    word: (framework, FRAMEWORK_LANGUAGE[framework]) for word, framework in _FRAMEWORK_WORDS.items()
}
LANGUAGE_WORDS: dict[str, str] = {
    "python": "python",
    "python3": "python",
    "py": "python",
    "java": "java",
    "kotlin": "java",
    "jvm": "java",
    "golang": "go",
    "go": "go",
    "node.js": "nodejs",
    "nodejs": "nodejs",
    "node": "nodejs",
    "javascript": "nodejs",
    "js": "nodejs",
    "typescript": "nodejs",
    "ts": "nodejs",
    "deno": "nodejs",
    "c#": "csharp",
    "csharp": "csharp",
    ".net": "csharp",
    "dotnet": "csharp",
    "c++": "cpp",
    "cpp": "cpp",
    "ruby": "ruby",
    "php": "php",
    "rust": "rust",
}
KIND_WORDS: dict[str, str] = {
    "worker": "worker",
    "workers": "worker",
    "consumer": "worker",
    "queue consumer": "worker",
    "background job": "worker",
    "background jobs": "worker",
    "job runner": "worker",
    "grpc": "grpc",
    "gateway": "gateway",
    "api gateway": "gateway",
    "frontend": "frontend",
    "front-end": "frontend",
    "front end": "frontend",
    "web ui": "frontend",
}
_GO_VERB_AFTER = re.compile(r"\bgo\s+(?:ahead|live|for|with|to|and|on|through|over|up|down)\b")
_GO_WORD = re.compile(
    r"(?:\b(?:in|a|an|written\s+in|uses?|using|lang(?:uage)?:?)\s+go\b|(?:^|[,(/])\s*go\s*(?:[,)/]|$)"
    r"|\bgo\s+(?:service|app|api|microservice|worker|consumer|binary|1\.\d+)\b)"
)


def _find(text: str, words: dict[str, str]) -> str | None:
    """The first alias (longest first) that occurs as a whole word in ``text``."""
    lowered = text.lower()
    hits = []
    for word in sorted(words, key=len, reverse=True):
        for match in re.finditer(rf"(?<![\w.+#-]){re.escape(word)}(?![\w+#]|\.\w|-\w)", lowered):
            hits.append((match.start(), -len(word), word))
    return min(hits)[2] if hits else None


def find_language(text: str) -> str | None:
    lowered = text.lower()
    plain = {k: v for k, v in LANGUAGE_WORDS.items() if k not in ("go", "ts", "py")}
    hit = _find(lowered, plain)
    if hit is not None:
        return LANGUAGE_WORDS[hit]
    if _GO_WORD.search(lowered) and not _GO_VERB_AFTER.search(lowered):
        return "go"
    if re.search(r"(?<![\w.-])(?:py|ts)(?![\w-])", lowered):
        return "python" if re.search(r"(?<![\w.-])py(?![\w-])", lowered) else "nodejs"
    return None


def find_framework(text: str) -> tuple[str, str] | None:
    hit = _find(text, {k: k for k in FRAMEWORKS})
    return FRAMEWORKS[hit] if hit else None


def find_kind(text: str) -> str | None:
    hit = _find(text, KIND_WORDS)
    return KIND_WORDS[hit] if hit else None
