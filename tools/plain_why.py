""" "Why" in plain words for the person asking, before the engine's detail.

The stored reasons are written for whoever checks the engine ("Theil–Sen line", "×1.44
covers 95% of 54 peers"). This turns them into a short answer ("Similar Python services use
about 26 MiB; we reserve 26 MiB and allow up to 179 MiB, which would have covered 95 % of
comparable services' peaks") and says who changed which number after the engine proposed it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tools.sizing.models import Reason
from tools.sizing.quantities import format_cpu, format_memory

__all__ = ["Edit", "Numbers", "edits_between", "plain_why"]

LANGUAGE_NAMES = {
    "python": "Python",
    "java": "Java",
    "go": "Go",
    "nodejs": "Node.js",
    "csharp": "C#",
    "cpp": "C++",
    "ruby": "Ruby",
    "php": "PHP",
    "rust": "Rust",
}
FIELD_WORDS = {
    "replicas": "replicas",
    "cpu_request": "the CPU request",
    "cpu_limit": "the CPU limit",
    "memory_request": "the memory request",
    "memory_limit": "the memory limit",
}


@dataclass(frozen=True)
class Numbers:
    """The sizes in force, as shown on the card (``None`` limit: no limit)."""

    replicas: int
    cpu_request: str
    cpu_limit: str | None
    memory_request: str
    memory_limit: str | None


@dataclass(frozen=True)
class Edit:
    """One number a person changed: who, which, from what to what, in which revision."""

    revision: int
    author: str
    field: str
    old: str
    new: str

    def sentence(self) -> str:
        return (
            f"{self.author} changed {FIELD_WORDS.get(self.field, self.field)} from "
            f"{self.old} to {self.new} (revision {self.revision})"
        )


def edits_between(
    revisions: Iterable[tuple[int, str, Numbers]],
) -> list[Edit]:
    """The edits along a proposal's revisions ``(number, author, numbers)``, oldest first."""
    out: list[Edit] = []
    previous: Numbers | None = None
    for number, author, numbers in revisions:
        if previous is not None:
            for field in FIELD_WORDS:
                old, new = getattr(previous, field), getattr(numbers, field)
                if old != new:
                    out.append(Edit(number, author, field, _shown(old), _shown(new)))
        previous = numbers
    return out


def _shown(value: object) -> str:
    return "no limit" if value is None or value == "" else str(value)


def _mib(text: str | None) -> str:
    """``26Mi`` → ``26 MiB`` for prose."""
    if not text:
        return "no limit"
    return re.sub(r"^([\d.]+)(Ki|Mi|Gi|Ti)$", r"\1 \2B", text)


def _reason(reasons: Sequence[Reason], field: str) -> Reason | None:
    return next((r for r in reasons if r.field == field), None)


def _memory(reasons: Sequence[Reason], n: Numbers, language: str | None) -> str | None:
    request = _reason(reasons, "memory_request")
    if request is None:
        return None
    who = (
        f"Similar {LANGUAGE_NAMES[language]} services"
        if language in LANGUAGE_NAMES
        else ("Similar services")
    )
    used = _mib(format_memory(request.value)) if request.value else _mib(n.memory_request)
    text = f"{who} use about {used}; we reserve {_mib(n.memory_request)}"
    if n.memory_limit:
        text += f" and allow up to {_mib(n.memory_limit)}"
        limit = _reason(reasons, "memory_limit")
        cover = (
            re.search(r"(?:covers|the) (\d+(?:\.\d+)?)% (?:of|point)", limit.text)
            if limit
            else None
        )
        if cover:
            text += f", which would have covered {cover[1]} % of comparable services' peaks"
    else:
        text += " with no limit"
    return text + "."


def _cpu(reasons: Sequence[Reason], n: Numbers) -> str | None:
    request = _reason(reasons, "cpu_request")
    if request is None:
        return None
    per_pod = re.search(r"× ([\d.e+]+) req/s per pod", request.text)
    load = f" at about {float(per_pod[1]):g} requests/s per pod" if per_pod else ""
    need = _cpu_words(request.value) if request.value is not None else n.cpu_request
    text = f"Comparable services need about {need} of CPU{load}; we reserve {n.cpu_request}"
    text += (
        f" and cap it at {n.cpu_limit}."
        if n.cpu_limit
        else (" with no cap, so a busy pod can use idle CPU on its node.")
    )
    return text


def _cpu_words(cores: float) -> str:
    return format_cpu(cores)


def _replicas(reasons: Sequence[Reason], n: Numbers) -> str | None:
    reason = _reason(reasons, "replicas")
    if reason is None:
        return None
    cap = re.search(r"peak ([\d.]+) req/s over (\d+) req/s per pod .*? needs (\d+)", reason.text)
    floor = re.search(r"at least (\d+)", reason.text)
    if cap:
        text = (
            f"{n.replicas} replicas: one pod handles about {cap[2]} requests/s, so the peak of "
            f"{cap[1]} needs {cap[3]}"
        )
        if floor and int(floor[1]) > int(cap[3]):
            text += f"; we run at least {floor[1]} so pods are spread across hypervisors"
        return text + "."
    if floor:
        return (
            f"{n.replicas} replicas: the load does not call for more, and we run at least "
            f"{floor[1]} so pods are spread across hypervisors."
        )
    return f"{n.replicas} replicas: {reason.text}."


def plain_why(
    reasons: Sequence[Reason],
    numbers: Numbers,
    *,
    language: str | None = None,
    edits: Sequence[Edit] = (),
    focus: Iterable[str] = (),
    proposed: Numbers | None = None,
) -> list[str]:
    """Short sentences, the asked-about resource first; the edits people made last.

    ``focus`` names resources ("memory", "cpu", "replicas") the question was about. A number a
    person changed is explained as Sizer ``proposed`` it, then by the edit.
    """
    wanted = list(focus) or ["memory", "cpu", "replicas"]
    edited = {e.field for e in edits}
    lines: list[str] = []
    for topic in wanted:
        fields = {f for f in FIELD_WORDS if f.startswith(topic)}
        changed = bool(fields & edited) and proposed is not None
        basis = proposed if changed and proposed is not None else numbers
        line = (
            _memory(reasons, basis, language)
            if topic == "memory"
            else _cpu(reasons, basis)
            if topic == "cpu"
            else _replicas(reasons, basis)
        )
        if line is not None:
            lines.append(f"Sizer proposed: {line[0].lower()}{line[1:]}" if changed else line)
    load_basis = next((r for r in reasons if r.statistic == "load basis"), None)
    if load_basis is not None:
        lines.append(load_basis.text[0].upper() + load_basis.text[1:] + ".")
    lines += [e.sentence() + "." for e in edits]
    return lines
