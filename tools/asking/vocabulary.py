"""The words people use for languages, frameworks and kinds of workload, mapped to the model's.

Aliases are matched as whole words, longest first, so "spring boot" wins over "spring" and
"node.js" over "node". "go" alone is an English verb too: it counts only where it cannot be
one ("in go", "a go service", ", go,").
"""

from __future__ import annotations

import re

__all__ = [
    "FRAMEWORKS",
    "KIND_WORDS",
    "LANGUAGE_WORDS",
    "find_framework",
    "find_kind",
    "find_language",
]

FRAMEWORKS: dict[str, tuple[str, str]] = {
    # word in text → (framework, language)
    "fastapi": ("fastapi", "python"),
    "flask": ("flask", "python"),
    "django": ("django", "python"),
    "tornado": ("tornado", "python"),
    "starlette": ("starlette", "python"),
    "aiohttp": ("aiohttp", "python"),
    "celery": ("celery", "python"),
    "spring boot": ("spring-boot", "java"),
    "spring-boot": ("spring-boot", "java"),
    "springboot": ("spring-boot", "java"),
    "spring": ("spring-boot", "java"),
    "quarkus": ("quarkus", "java"),
    "micronaut": ("micronaut", "java"),
    "express": ("express", "nodejs"),
    "express.js": ("express", "nodejs"),
    "expressjs": ("express", "nodejs"),
    "nestjs": ("nestjs", "nodejs"),
    "nest.js": ("nestjs", "nodejs"),
    "next.js": ("nextjs", "nodejs"),
    "nextjs": ("nextjs", "nodejs"),
    "fastify": ("fastify", "nodejs"),
    "koa": ("koa", "nodejs"),
    "gin": ("gin", "go"),
    "echo": ("echo", "go"),
    "fiber": ("fiber", "go"),
    "gorilla": ("gorilla-mux", "go"),
    "rails": ("rails", "ruby"),
    "ruby on rails": ("rails", "ruby"),
    "sinatra": ("sinatra", "ruby"),
    "laravel": ("laravel", "php"),
    "symfony": ("symfony", "php"),
    "asp.net core": ("aspnet", "csharp"),
    "asp.net": ("aspnet", "csharp"),
    "aspnet": ("aspnet", "csharp"),
    "actix": ("actix", "rust"),
    "axum": ("axum", "rust"),
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
