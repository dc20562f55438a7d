"""Free text → the fields of a :class:`~tools.propose.SizeRequest`, and what is still missing.

"a FastAPI thing `items-api` on 3.10 doing ~80 rps, like image-resizer" gives the name, the
language (from the framework), the framework, the version, a load of 80-80 and a similar
service. Nothing is guessed: what the text does not say stays ``None`` and, when essential
(the name or the load), is listed in ``missing`` so the caller asks one question.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, ValidationError

from tools.propose import SizeRequest
from tools.sizing.vocabulary import is_dns1123

FRAMEWORKS: dict[str, tuple[str, str]] = {
    # word in text → (framework, language)
    "fastapi": ("fastapi", "python"),
    "flask": ("flask", "python"),
    "django": ("django", "python"),
    "spring boot": ("spring-boot", "java"),
    "spring-boot": ("spring-boot", "java"),
    "spring": ("spring-boot", "java"),
    "quarkus": ("quarkus", "java"),
    "express": ("express", "nodejs"),
    "nestjs": ("nestjs", "nodejs"),
    "next.js": ("nextjs", "nodejs"),
    "gin": ("gin", "go"),
    "echo": ("echo", "go"),
    "rails": ("rails", "ruby"),
    "sinatra": ("sinatra", "ruby"),
    "laravel": ("laravel", "php"),
    "asp.net": ("aspnet", "csharp"),
    "actix": ("actix", "rust"),
    "axum": ("axum", "rust"),
}
LANGUAGE_WORDS: dict[str, str] = {
    "python": "python",
    "java": "java",
    "golang": "go",
    "go": "go",
    "node.js": "nodejs",
    "nodejs": "nodejs",
    "node": "nodejs",
    "typescript": "nodejs",
    "c#": "csharp",
    "csharp": "csharp",
    ".net": "csharp",
    "c++": "cpp",
    "cpp": "cpp",
    "ruby": "ruby",
    "php": "php",
    "rust": "rust",
}
KIND_WORDS: dict[str, str] = {
    "worker": "worker",
    "consumer": "worker",
    "grpc": "grpc",
    "gateway": "gateway",
    "frontend": "frontend",
    "front-end": "frontend",
    "http": "http",
    "api": "http",
}
_NUM = r"(\d+(?:\.\d+)?)\s*(k)?"
_RATE_UNIT = r"(?:rps|req(?:uests?)?\s*(?:/|per)\s*s(?:ec(?:ond)?)?|qps|requests?\s+a\s+second)"
_RPS_RANGE = re.compile(
    rf"(?:~|about\s+|around\s+|roughly\s+|approx\.?\s+)?{_NUM}\s*(?:-|–|—|to)\s*{_NUM}\s*{_RATE_UNIT}",
    re.IGNORECASE,
)
_RPS_ONE = re.compile(
    rf"(~|about\s+|around\s+|roughly\s+|approx\.?\s+|up\s+to\s+|peak\s+(?:of\s+)?)?{_NUM}\s*{_RATE_UNIT}",
    re.IGNORECASE,
)
_RPS_FLAG = re.compile(r"--rps\s+(\d+(?:\.\d+)?)(?:\s*-\s*(\d+(?:\.\d+)?))?")
_NAME_TOKEN = r"`?([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)`?"
_SIMILAR = re.compile(
    rf"(?:similar\s+to|like|same\s+as|resembles|--similar)\s+(?:the\s+)?{_NAME_TOKEN}"
    rf"(?:\s*(?:,|and|or)\s+{_NAME_TOKEN})?",
    re.IGNORECASE,
)
_NAMESPACE = re.compile(
    rf"(?:in\s+(?:the\s+)?(?:namespace|ns)\s+{_NAME_TOKEN}|in\s+{_NAME_TOKEN}\s+namespace"
    rf"|--namespace\s+{_NAME_TOKEN}|namespace\s*[:=]\s*{_NAME_TOKEN})",
    re.IGNORECASE,
)
_CALLED = re.compile(rf"(?:called|named|name\s+it|name:|--name)\s+{_NAME_TOKEN}", re.IGNORECASE)
_BACKTICK = re.compile(r"`([^`]{1,80})`")
_VERSION = re.compile(
    r"(?:\bon\s+|\bv|python\s*|java\s*|go\s*|node\s*|jdk\s*|version\s+)(\d+(?:\.\d+){0,2})\b",
    re.IGNORECASE,
)
_SIZE_VERB = re.compile(r"^\s*(?:please\s+)?(?:size|sizing)\s+(?:a\s+|an\s+|the\s+)?", re.I)


class Extracted(BaseModel):
    """What the text says about a new service; ``None`` where it says nothing."""

    model_config = ConfigDict(frozen=True)

    name: str | None = None
    namespace: str | None = None
    language: str | None = None
    framework: str | None = None
    version: str | None = None
    kind: str | None = None
    rps_low: float | None = None
    rps_high: float | None = None
    similar: tuple[str, ...] = ()
    critical: bool = False
    problems: tuple[str, ...] = ()

    @property
    def missing(self) -> list[str]:
        out = []
        if self.name is None:
            out.append("name")
        if self.rps_high is None:
            out.append("load")
        return out

    def merged(self, newer: Extracted) -> Extracted:
        """This request with whatever ``newer`` (a follow-up answer) adds or corrects."""
        update = {
            k: v
            for k, v in newer.model_dump().items()
            if v not in (None, (), False) and k != "problems"
        }
        update["problems"] = newer.problems
        return self.model_copy(update=update)

    def request(self) -> SizeRequest:
        """The typed request; raises ``ValueError`` naming the field when something is off."""
        if self.missing:
            raise ValueError(f"missing: {', '.join(self.missing)}")
        try:
            return SizeRequest(
                name=self.name,
                namespace=self.namespace or "default",
                language=self.language,
                framework=self.framework,
                kind=self.kind or "http",
                rps_low=self.rps_low,
                rps_high=self.rps_high,
                similar=self.similar,
                critical=self.critical,
            )
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(p) for p in error["loc"]) or "request"
            raise ValueError(f"{where}: {error['msg']}") from None


def _number(digits: str, k: str | None) -> float:
    return float(digits) * (1000 if k else 1)


def _load(text: str) -> tuple[float | None, float | None]:
    flag = _RPS_FLAG.search(text)
    if flag:
        low = float(flag[1])
        return low, float(flag[2]) if flag[2] else low
    match = _RPS_RANGE.search(text)
    if match:
        return _number(match[1], match[2]), _number(match[3], match[4])
    match = _RPS_ONE.search(text)
    if match:
        value = _number(match[2], match[3])
        # "up to 100 rps" and "peak 100 rps" state the high end only.
        low = 0.0 if match[1] and match[1].lower().startswith(("up", "peak")) else value
        return low, value
    return None, None


def _word(text: str, words: dict[str, str]) -> str | None:
    lowered = text.lower()
    for word in sorted(words, key=len, reverse=True):
        if re.search(rf"(?<![\w.+#-]){re.escape(word)}(?![\w+#-])", lowered):
            return words[word]
    return None


def _valid(name: str | None) -> str | None:
    if name is None:
        return None
    name = name.strip().lower()
    return name if is_dns1123(name) else None


def extract(text: str) -> Extracted:
    """Read one message; never raises. Names must be DNS-1123 labels or they are reported."""
    problems: list[str] = []
    similar: list[str] = []
    for match in _SIMILAR.finditer(text):
        for group in (match[1], match[2]):
            name = _valid(group)
            if name and name not in similar:
                similar.append(name)
    ns_match = _NAMESPACE.search(text)
    namespace = None
    if ns_match:
        raw = next(g for g in ns_match.groups() if g)
        namespace = _valid(raw)
        if namespace is None:
            problems.append(f"namespace {raw!r} is not a valid Kubernetes name")
    name = None
    called = _CALLED.search(text)
    candidates = [called[1]] if called else []
    candidates += [m for m in _BACKTICK.findall(text) if m.lower() not in similar]
    for raw in candidates:
        if raw.lower() in similar or raw.lower() == namespace:
            continue
        name = _valid(raw)
        if name is None:
            problems.append(
                f"{raw!r} is not a valid Kubernetes name: use lower-case letters, digits and "
                "'-', starting and ending with a letter or digit, at most 63 characters"
            )
        break
    if name is None and not problems:
        # "size items-api --rps 50-100": the grammar's positional name.
        head = _SIZE_VERB.sub("", text, count=1) if _SIZE_VERB.match(text) else ""
        token = head.split()[0] if head.split() else ""
        if "-" in token or token.startswith("`"):
            name = _valid(token.strip("`"))
    framework_hit = _word(text, {k: k for k in FRAMEWORKS})
    framework = language = None
    if framework_hit:
        framework, language = FRAMEWORKS[framework_hit]
    language = _word(text, LANGUAGE_WORDS) or language
    low, high = _load(text)
    if low is not None and high is not None and high < low:
        problems.append(f"the load range {low:g}-{high:g} is reversed; write it low-high")
        low = high = None
    version = _VERSION.search(text)
    kind = _word(text, KIND_WORDS)
    return Extracted(
        name=name,
        namespace=namespace,
        language=language,
        framework=framework,
        version=version[1] if version else None,
        kind=None if kind == "http" else kind,
        rps_low=low,
        rps_high=high,
        similar=tuple(similar),
        critical=bool(re.search(r"\bcritical\b", text, re.IGNORECASE)),
        problems=tuple(problems),
    )


def question(missing: list[str], name: str | None) -> str:
    """One short clarifying question for the first essential thing missing."""
    if "name" in missing:
        return (
            "What should the new service be called? Give a Kubernetes name in backticks, "
            "e.g. `items-api`."
        )
    subject = f"`{name}`" if name else "it"
    return (
        f"Roughly how many requests per second will {subject} handle? A number or a range "
        "is fine, e.g. `50-100 rps`."
    )
