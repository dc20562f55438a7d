"""The ``--flag`` grammar: ``size NAME --rps 50-100 [--language python] ...``.

The slash command reads it strictly (:func:`read_flags` raises :class:`FlagError`); a mention
or a DM may mix flags with plain language, and gets the same messages as problems to answer.
"""

from __future__ import annotations

import re

from tools.asking.draft import Draft
from tools.asking.loads import LoadError, parse_range
from tools.asking.names import is_label, name_problem
from tools.asking.vocabulary import FRAMEWORKS, LANGUAGE_WORDS
from tools.propose import IMAGE_PATTERN, PROBE_PATH_PATTERN
from tools.sizing.vocabulary import KINDS, LANGUAGES

__all__ = ["FLAGS_WITH_VALUE", "SWITCHES", "FlagError", "read_flags"]

FLAGS_WITH_VALUE = (
    "--name",
    "--language",
    "--framework",
    "--kind",
    "--rps",
    "--messages",
    "--similar",
    "--namespace",
    "--cluster",
    "--image",
    "--port",
    "--probe-path",
)
SWITCHES = ("--critical",)
_ALIASES = {"--probe": "--probe-path", "--ns": "--namespace", "--mps": "--messages"}


class FlagError(ValueError):
    """A flag that cannot be read; the message says what to fix."""


def split_flags(words: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """Positional words, and each flag's values in order."""
    positional: list[str] = []
    options: dict[str, list[str]] = {}
    it = iter(words)
    for word in it:
        if not word.startswith("--") or word == "--":
            positional.append(word)
            continue
        flag, eq, value = word.partition("=")
        flag = _ALIASES.get(flag.lower(), flag.lower())
        if flag in SWITCHES and not eq:
            options.setdefault(flag, []).append("yes")
        elif flag in FLAGS_WITH_VALUE:
            if not eq:
                value = next(it, "")
            if not value or value.startswith("--"):
                raise FlagError(f"{flag} needs a value")
            options.setdefault(flag, []).append(value)
        else:
            known = ", ".join((*FLAGS_WITH_VALUE, *SWITCHES))
            raise FlagError(f"unknown option {flag}; the options are {known}")
    return positional, options


def _single(options: dict[str, list[str]], flag: str) -> str | None:
    values = options.get(flag, [])
    if len(values) > 1:
        raise FlagError(f"{flag} given {len(values)} times; give it once")
    return values[0] if values else None


def _name(value: str | None, what: str) -> str | None:
    if value is not None and not is_label(value):
        raise FlagError(name_problem(what, value))
    return value


def read_flags(options: dict[str, list[str]]) -> Draft:
    """The draft the flags state; :class:`FlagError` for the first value that is off."""
    fields: dict[str, object] = {}
    fields["name"] = _name(_single(options, "--name"), "--name")
    fields["namespace"] = _name(_single(options, "--namespace"), "--namespace")
    fields["cluster"] = _name(_single(options, "--cluster"), "--cluster")
    language = _single(options, "--language")
    if language is not None:
        code = LANGUAGE_WORDS.get(language.lower())
        if code is None or code not in LANGUAGES:
            raise FlagError(
                f"--language {language!r} is unknown; use one of: {', '.join(LANGUAGES)}"
            )
        fields["language"] = code
    framework = _single(options, "--framework")
    if framework is not None:
        known = FRAMEWORKS.get(framework.lower())
        fields["framework"] = known[0] if known else framework.lower()
        if known and "language" not in fields:
            fields["language"] = known[1]
    kind = _single(options, "--kind")
    if kind is not None:
        if kind.lower() not in KINDS:
            raise FlagError(f"--kind {kind!r} is unknown; use one of: {', '.join(KINDS)}")
        fields["kind"] = kind.lower()
    for flag, low, high in (
        ("--rps", "rps_low", "rps_high"),
        ("--messages", "messages_low", "messages_high"),
    ):
        value = _single(options, flag)
        if value is not None:
            try:
                fields[low], fields[high] = parse_range(value, flag)
            except LoadError as exc:
                raise FlagError(str(exc)) from None
    if "messages_high" in fields and "kind" not in fields:
        fields["kind"] = "worker"
    similar = options.get("--similar", [])
    for peer in similar:
        _name(peer, "--similar")
    fields["similar"] = tuple(similar)
    image = _single(options, "--image")
    if image is not None and not re.fullmatch(IMAGE_PATTERN, image):
        raise FlagError(
            f"--image {image!r} is not an image reference, e.g. ghcr.io/acme/items-api:1.4.2"
        )
    fields["image"] = image
    port = _single(options, "--port")
    if port is not None:
        if not re.fullmatch(r"[0-9]{1,5}", port) or not 1 <= int(port) <= 65535:
            raise FlagError(f"--port {port!r}: give the container port, 1-65535")
        fields["port"] = int(port)
    probe = _single(options, "--probe-path")
    if probe is not None and not re.fullmatch(PROBE_PATH_PATTERN, probe):
        raise FlagError(f"--probe-path {probe!r}: give an HTTP path such as /healthz")
    fields["probe_path"] = probe
    if "--critical" in options:
        fields["critical"] = True
    return Draft.model_validate({k: v for k, v in fields.items() if v is not None})
