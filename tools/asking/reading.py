"""Plain language → a :class:`~tools.asking.draft.Draft`; the one reader every path uses.

"can you size items-api? it's a FastAPI app doing about 80 requests per second, like the
cart service" gives the name, python/fastapi, a load of 80-80 and the peer query "cart
service". ``--flags`` in the text are read by :mod:`tools.asking.flags`, the same code the
slash command uses. Nothing is guessed: what the text does not say stays ``None``, and a value
written so it cannot be read (``5e3``, ``Team_A``) becomes a problem to tell the person.
"""

from __future__ import annotations

import re

from tools.asking.draft import Draft, Slot
from tools.asking.flags import FlagError, read_flags, split_flags
from tools.asking.loads import LoadError, find_load
from tools.asking.names import LABEL, is_label, name_problem
from tools.asking.vocabulary import (
    FRAMEWORKS,
    KIND_WORDS,
    LANGUAGE_WORDS,
    find_framework,
    find_kind,
    find_language,
)
from tools.propose import IMAGE_PATTERN, PROBE_PATH_PATTERN

__all__ = ["read", "words_of"]

_MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")
_LINK = re.compile(r"<(?:https?://|mailto:)[^>|]*\|([^>]*)>|<(https?://[^>|]*)>")
_DASHES = str.maketrans({"\u2014": "--", "\u2013": "-", "\u2018": "'", "\u2019": "'"})
_FILLER = {
    "a",
    "an",
    "the",
    "new",
    "my",
    "our",
    "this",
    "that",
    "these",
    "service",
    "services",
    "svc",
    "app",
    "application",
    "api",
    "microservice",
    "micro-service",
    "thing",
    "one",
    "please",
    "for",
    "me",
    "us",
    "it",
    "its",
    "of",
    "some",
    "small",
    "little",
    "simple",
    "quick",
    "up",
    "workload",
    "deployment",
    "called",
    "named",
    "k8s",
    "kubernetes",
    "backend",
    "web",
    "rest",
    "http",
    "python",
    "java",
    "node",
    "go",
    "golang",
    "tiny",
    "brand",
    "brand-new",
}
_STOP = {
    "to",
    "is",
    "be",
    "will",
    "would",
    "should",
    "can",
    "could",
    "which",
    "who",
    "what",
    "how",
    "with",
    "and",
    "or",
    "in",
    "on",
    "at",
    "doing",
    "does",
    "do",
    "handles",
    "handling",
    "serves",
    "serving",
    "runs",
    "running",
    "that",
    "it",
    "i",
    "we",
    "you",
    "they",
    "he",
    "she",
    "need",
    "needs",
    "want",
    "wants",
    "like",
    "similar",
    "same",
    "as",
    "about",
    "around",
    "roughly",
    "approximately",
    "approx",
    "by",
    "from",
    "into",
    "per",
    "rps",
    "qps",
    "size",
    "sizing",
    "sized",
    "resources",
    "requests",
    "request",
    "something",
    "anything",
    "please",
    "thanks",
    "thank",
    "hi",
    "hello",
    "hey",
    "there",
    "here",
    "now",
    "then",
    "so",
    "if",
    "when",
    "where",
    "get",
    "give",
    "make",
    "made",
    "set",
    "use",
    "using",
    "consumes",
    "consuming",
    "reads",
    "reading",
    "processes",
    "processing",
    "takes",
    "expected",
    "expects",
    "expect",
    "load",
    "traffic",
    "peak",
    "peaks",
    "normally",
    "usually",
    "critical",
    "not",
    "no",
    "namespace",
    "ns",
    "image",
    "port",
    "probe",
    "worker",
    "consumer",
    "job",
    "queue",
    "messages",
    "team",
    "are",
    "was",
    "were",
    "has",
    "have",
    "had",
    "also",
    "just",
    "only",
    "very",
    "really",
    "but",
    "because",
    "since",
    "than",
    "too",
    "lots",
    "lot",
    "much",
    "many",
    "few",
    "new",
    "yes",
    "yeah",
    "ok",
    "okay",
    "sure",
    "sorry",
    "actually",
    "instead",
    "rather",
    "maybe",
    "guess",
    "think",
    "estimate",
    "estimated",
    "say",
    "said",
    "call",
    "name",
    "my",
    "our",
    "one",
    "two",
    "three",
    "production",
    "prod",
    "staging",
    "dev",
}
_VOCABULARY = set(LANGUAGE_WORDS) | set(FRAMEWORKS) | set(KIND_WORDS) | {"net", "dotnet"}
_TOKEN = re.compile(r"`[^`]{1,80}`|[^\s,;!?()\"]+")
_CALLED = re.compile(
    r"\b(?:called|named|name\s+it|name\s+is|call\s+it|name:)\s+(`[^`]{1,80}`|[^\s,;!?()\"]+)",
    re.I,
)
_SIZE_TRIGGER = re.compile(
    r"\b(?:size|sizing|resize|resources\s+for|requests\s+for|limits\s+for|deploy|deploying"
    r"|onboard|onboarding|launch|launching|new\s+service|estimate\s+for|propose)\b",
    re.I,
)
_SIMILAR = re.compile(
    r"\b(?:similar\s+to|comparable\s+to|same\s+as|resembles?|based\s+on|modell?ed\s+on"
    r"|close\s+to|(?<!would\s)(?<!i'd\s)(?<!we'd\s)like)\s+",
    re.I,
)
_SIMILAR_END = re.compile(
    r"[,;.!?()]|\s(?:and|or|but|in|at|with|doing|on|for|which|that)\s|\Z", re.I
)
_NAMESPACE = re.compile(
    r"(?:\bin\s+(?:the\s+)?(?:namespace|ns)\s+|\bnamespace\s*[:=]?\s*|\bns\s*[:=]\s*"
    r"|\bto\s+(?:the\s+)?namespace\s+)(`[^`]{1,80}`|[^\s,;!?()\"]+)"
    r"|\bin\s+(?:the\s+)?`?([^\s,;!?()`\"]+)`?\s+(?:namespace|ns)\b",
    re.I,
)
_CRITICAL = re.compile(
    r"\b(?:(?:business|mission)[- ]critical|critical|tier[- ]?[01]\b|customer[- ]facing)", re.I
)
_NOT_CRITICAL = re.compile(r"\b(?:not|non|isn'?t|never)[- ](?:\w+\s)?critical\b", re.I)
_IMAGE_WORD = re.compile(
    r"\b(?:image|img|container\s+image|docker\s+image)(?:\s+is|\s*[:=])?\s+`?([^\s`,;()\"]+)`?",
    re.I,
)
_IMAGE_LOOK = re.compile(
    r"(?<![\w/.-])((?:[a-z0-9-]+\.)+[a-z]{2,}(?::\d{1,5})?/[a-z0-9._/-]+(?::[\w.-]+)?"
    r"(?:@sha256:[a-f0-9]{64})?)"
)
_PORT = re.compile(
    r"\b(?:on\s+port|port|listens\s+on(?:\s+port)?|listening\s+on(?:\s+port)?)\s*[:=]?\s*(\d{1,6})\b",
    re.I,
)
_PROBE = re.compile(
    r"\b(?:probe|health\s*-?\s*check|readiness(?:\s+probe)?|health\s+endpoint|liveness)"
    r"(?:\s+path)?(?:\s+(?:at|on|is))?\s*[:=]?\s*`?(/[^\s`,;()\"]*)`?",
    re.I,
)


_CORRECTION = re.compile(
    r"^\s*(?:actually|sorry|no|oops|correction|make\s+(?:that|it)|rather|instead|change\s+(?:that|it)"
    r"\s+to)\b[\s,:]*",
    re.I,
)


def clean(text: str) -> str:
    """Undo what Slack does to typed text: mentions, links, entities, smart punctuation."""
    text = _MENTION.sub(" ", text)
    text = _LINK.sub(lambda m: m[1] or m[2], text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    text = text.translate(_DASHES).replace("\u201c", '"').replace("\u201d", '"')
    return " ".join(text.split())


def words_of(text: str) -> list[str]:
    return [w.strip("`") if w.startswith("`") else w for w in _TOKEN.findall(text)]


def _strip(token: str) -> str:
    return token.strip("`'\".:")


def _flags(text: str) -> tuple[str, Draft, list[str]]:
    """Take ``--flag value`` pairs out of ``text``; what is left, their draft, problems."""
    if "--" not in text:
        return text, Draft(), []
    tokens = text.split()
    flagged: list[str] = []
    rest: list[str] = []
    it = iter(tokens)
    for token in it:
        if token.startswith("--") and len(token) > 2:
            flagged.append(token)
            if "=" not in token and token.lower() != "--critical":
                value = next(it, "")
                flagged.append(value.strip("`").rstrip(",;"))
        else:
            rest.append(token)
    try:
        _, options = split_flags(flagged)
        return " ".join(rest), read_flags(options), []
    except FlagError as exc:
        return " ".join(rest), Draft(), [str(exc)]


def _similar(text: str) -> tuple[list[str], str]:
    """Peer queries ("cart service", "frontend"), and the text with those phrases removed."""
    queries: list[str] = []
    spans: list[tuple[int, int]] = []
    for match in _SIMILAR.finditer(text):
        tail = text[match.end() :]
        end = _SIMILAR_END.search(tail)
        phrase = tail[: end.start()] if end else tail
        parts = re.split(r"\s*(?:,|\band\b|\bor\b|/)\s*", tail[: _list_end(tail)])
        for part in parts or [phrase]:
            words = [_strip(w).lower() for w in part.split()]
            words = [w for w in words if w and w not in ("the", "a", "an", "our", "my")]
            words = [w for w in words if is_label(w) or w in ("service", "svc")]
            core = [w for w in words if w not in _STOP or w in ("frontend", "gateway")]
            if not core or any(w[0].isdigit() and not is_label(w) for w in core):
                continue
            query = " ".join(w for w in words if w not in ("one", "thing"))
            if query and query not in queries and len(query) <= 63:
                queries.append(query)
        spans.append((match.start(), match.end() + _list_end(tail)))
    for left, right in reversed(spans):
        text = text[:left] + " " + text[right:]
    return queries, text


def _list_end(tail: str) -> int:
    """Where a list of peers ("X, Y and Z") ends: at a number, a clause, or the sentence."""
    stop = re.search(
        r"[.;!?()]|\s(?:in|at|with|doing|on|for|which|that|but|it|its|it's|handling|about)\s"
        r"|,?\s*~?\d|,\s*(?:a|an|the|it|its|it's|python|java|go|node|written|needs?|image|port"
        r"|probe|namespace|ns|critical|tier|listens|health|readiness)\b|\s--",
        tail,
        re.I,
    )
    return stop.start() if stop else len(tail)


def _namespace(text: str, problems: list[str]) -> tuple[str | None, str]:
    match = _NAMESPACE.search(text)
    if match is None:
        return None, text
    raw = _strip(match[1] or match[2] or "")
    text = text[: match.start()] + " " + text[match.end() :]
    if not is_label(raw):
        problems.append(name_problem("namespace", raw))
        return None, text
    return raw, text


def _image(text: str, problems: list[str]) -> tuple[str | None, str]:
    match = _IMAGE_WORD.search(text)
    if match is not None:
        raw = _strip(match[1])
        text = text[: match.start()] + " " + text[match.end() :]
        if re.fullmatch(IMAGE_PATTERN, raw) and ("/" in raw or ":" in raw):
            return raw, text
        if "/" in raw or ":" in raw or "." in raw:
            problems.append(
                f"image {raw!r} is not an image reference; write it like "
                "ghcr.io/acme/items-api:1.4.2"
            )
        return None, text
    match = _IMAGE_LOOK.search(text)
    if match is not None and re.fullmatch(IMAGE_PATTERN, match[1]):
        return match[1], text[: match.start()] + " " + text[match.end() :]
    return None, text


def _port(text: str, problems: list[str]) -> tuple[int | None, str]:
    match = _PORT.search(text)
    if match is None:
        return None, text
    text = text[: match.start()] + " " + text[match.end() :]
    value = int(match[1])
    if not 1 <= value <= 65535:
        problems.append(f"port {match[1]} is not a port; give 1-65535")
        return None, text
    return value, text


def _probe(text: str, problems: list[str]) -> tuple[str | None, str]:
    match = _PROBE.search(text)
    if match is None:
        return None, text
    text = text[: match.start()] + " " + text[match.end() :]
    raw = match[1].rstrip(".")
    if re.fullmatch(PROBE_PATH_PATTERN, raw):
        return raw, text
    problems.append(f"probe path {raw!r} is not an HTTP path such as /healthz")
    return None, text


def _name(text: str, taken: set[str], problems: list[str]) -> str | None:
    """The new service's name: backticked, after "called", or after "size" and fillers."""
    called = _CALLED.search(text)
    candidates: list[str] = []
    if called:
        candidates.append(called[1])
    candidates += [f"`{m}`" for m in re.findall(r"`([^`]{1,80})`", text)]
    for raw in candidates:
        value = _strip(raw)
        if value.lower() in taken:
            continue
        if is_label(value):
            return value
        if LABEL.fullmatch(value.lower()) is None or value.isdigit():
            if not value.isdigit():
                problems.append(name_problem("the name", value))
            return None
        problems.append(name_problem("the name", value))
        return None
    trigger = _SIZE_TRIGGER.search(text)
    if trigger is None:
        return None
    for token in _TOKEN.findall(text[trigger.end() :])[:8]:
        word = _strip(token)
        lowered = word.lower()
        if not word or lowered in _FILLER or lowered in _VOCABULARY or token.lower() in _VOCABULARY:
            continue
        if lowered in _STOP or lowered in taken or not is_label(lowered):
            if is_label(lowered) or lowered in _STOP:
                return None
            if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*[A-Za-z0-9]", word) and (
                "_" in word or word != lowered
            ):
                problems.append(name_problem("the name", word))
            return None
        return lowered
    return None


def _bare(text: str, asked: Slot | None) -> Draft:
    """A bare answer to Sizer's own question: "items-api", "40", "ghcr.io/acme/x:1"."""
    words = [_strip(w) for w in words_of(text)]
    words = [w for w in words if w.lower() not in ("it's", "its", "it", "is", "call", "called")]
    if asked == "name" and len(words) == 1:
        word = words[0]
        if is_label(word):
            return Draft(name=word)
        if not word.isdigit() and not find_load(text, bare=True):
            return Draft(problems=(name_problem("the name", word),))
    if (
        asked == "image"
        and len(words) == 1
        and re.fullmatch(IMAGE_PATTERN, words[0])
        and re.search(r"[/:.]", words[0])
    ):
        return Draft(image=words[0])
    if asked == "similar" and 1 <= len(words) <= 3 and all(is_label(w.lower()) for w in words):
        return Draft(similar=(" ".join(w.lower() for w in words),))
    return Draft()


def read(text: str, asked: Slot | None = None) -> Draft:
    """Read one message; never raises. ``asked`` is the slot Sizer's last question was about."""
    text = clean(text)
    problems: list[str] = []
    text, flagged, flag_problems = _flags(text)
    problems += flag_problems
    similar, text = _similar(text)
    namespace, text = _namespace(text, problems)
    image, text = _image(text, problems)
    port, text = _port(text, problems)
    probe, text = _probe(text, problems)
    try:
        load = find_load(text, bare=asked == "load" or _CORRECTION.match(text) is not None)
    except LoadError as exc:
        problems.append(str(exc))
        load = None
    taken = {q for q in similar} | {namespace or ""}
    name = _name(text, taken, problems)
    framework = find_framework(text)
    language = find_language(text) or (framework[1] if framework else None)
    kind = find_kind(text)
    if load is not None and load.unit == "messages":
        kind = "worker"
    critical: bool | None = None
    if _NOT_CRITICAL.search(text):
        critical = False
    elif _CRITICAL.search(text):
        critical = True
    fields: dict[str, object] = {
        "name": name,
        "namespace": namespace,
        "language": language,
        "framework": framework[0] if framework else None,
        "kind": kind,
        "similar": tuple(similar),
        "critical": critical,
        "image": image,
        "port": port,
        "probe_path": probe,
    }
    if load is not None:
        prefix = "rps" if load.unit == "rps" else "messages"
        fields[f"{prefix}_low"], fields[f"{prefix}_high"] = load.low, load.high
    said = Draft.model_validate({k: v for k, v in fields.items() if v is not None})
    bare = _bare(text, asked)
    draft = bare.merged(said).merged(flagged)
    return draft.model_copy(update={"problems": (*problems, *bare.problems)})
