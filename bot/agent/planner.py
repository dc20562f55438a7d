"""The built-in planner: the agent's tools driven by a deterministic reading of the message.

Used when no LLM is configured (and as the fallback when one is down), so Sizer works offline
and in tests. It understands the ``/sizer`` grammar and common phrasings::

    size `items-api`, FastAPI on 3.10, 50-100 rps, like `image-resizer`   → a proposal card
    make it 4 replicas / memory limit 1Gi                                  → edit the thread's card
    why? / why so much memory? / why items-api / why p-1a2b3c4d             → the stored reasons
    status [p-1a2b3c4d] · show the manifest · verify items-api in team-a
    how much room is there? · quotas in team-a · workloads in team-a · help

"approve" is answered with where the button is: approving is a person's click, never a tool.
"""

from __future__ import annotations

import re
from typing import Any

from bot.agent.answer import Answer
from bot.agent.extract import Extracted, extract, question
from bot.agent.memory import ThreadMemory, ThreadState
from bot.agent.tools import ToolResult, Toolset, Turn

HELP = """I size Kubernetes workloads from evidence; a person approves every change.
• `size items-api --rps 50-100 --language python --similar image-resizer` — or just say it: \
"size a FastAPI service `items-api` on 3.10, ~80 rps, like `image-resizer`"
• `make it 4 replicas`, `memory limit 1Gi` — edit this thread's proposal (a new revision)
• `why` / `why items-api` / `why p-1a2b3c4d` — the stored reasons behind the numbers
• `status`, `show the manifest`, `verify items-api in team-a`
• `room on the nodes`, `quotas in team-a`, `workloads in team-a`
Approving is done with the button on the proposal card, by an authorised person."""

_MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")
_PROPOSAL = re.compile(r"\bp-[0-9a-f]{8}\b")
_NAME = r"`?([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)`?"
_IN_NS = re.compile(rf"\b(?:in|namespace|ns)\s+(?:namespace\s+)?{_NAME}", re.IGNORECASE)
_REPLICAS = re.compile(
    r"\b(\d{1,4})\s*(?:replicas?|pods?|instances?)\b|\breplicas?\s*(?:to|=|:|at)?\s*(\d{1,4})\b",
    re.I,
)
_RESOURCE = re.compile(
    r"\b(cpu|memory|mem|ram)\s*(request|limit)?s?\s*(?:to|=|:|at|of)?\s*"
    r"(none|\d+(?:\.\d+)?\s*(?:m|mi|gi|ki|g|k|cores?)?)(?![\w])",
    re.IGNORECASE,
)
_EDIT_HINT = re.compile(r"\b(make|set|change|bump|raise|lower|reduce|increase|use|edit)\b", re.I)
_SIZE_VERBS = ("size", "sizing", "propose")
_APPROVE = re.compile(r"\b(approve|approval|ship it|go ahead|deploy|apply)\b")
_RENDER = re.compile(r"\b(manifest|render|plan|preview|yaml)\b")
_CAPACITY = re.compile(r"\b(room|capacity|nodes|hypervisors?|allocatable)\b")
_WORKLOADS = re.compile(r"\b(workloads|what runs|running)\b")
_FIELD_WORDS = {
    "memory": ("memory_request", "memory_limit"),
    "mem": ("memory_request", "memory_limit"),
    "ram": ("memory_request", "memory_limit"),
    "cpu": ("cpu_request", "cpu_limit"),
    "replica": ("replicas",),
}


def clean(text: str) -> str:
    text = _MENTION.sub("", text).replace("\u2014", "--").replace("\u2013", "-")
    return " ".join(text.split())


def _quantity(raw: str, resource: str) -> str:
    value = raw.strip().lower().replace(" ", "")
    if value == "none":
        return "none"
    value = re.sub(r"cores?$", "", value)
    if resource == "cpu":
        return value
    unit = re.search(r"[a-z]+$", value)
    number = value[: unit.start()] if unit else value
    suffix = {"mi": "Mi", "gi": "Gi", "ki": "Ki", "m": "Mi", "g": "Gi", "k": "Ki"}.get(
        unit[0] if unit else "", "Mi"
    )
    return number + suffix


def edits(text: str) -> dict[str, Any]:
    """``make it 4 replicas, memory limit 1Gi`` → ``{"replicas": 4, "memory_limit": "1Gi"}``."""
    out: dict[str, Any] = {}
    match = _REPLICAS.search(text)
    if match:
        out["replicas"] = int(match[1] or match[2])
    for m in _RESOURCE.finditer(text):
        resource = "cpu" if m[1].lower() == "cpu" else "memory"
        which = (m[2] or "request").lower()
        out[f"{resource}_{which}"] = _quantity(m[3], resource)
    return out


def _fmt_size(d: dict[str, Any]) -> str:
    cpu_limit = d.get("cpu_limit") or "none"
    memory_limit = d.get("memory_limit") or "none"
    return (
        f"{d['replicas']} replicas × CPU {d['cpu_request']} (limit {cpu_limit}), "
        f"memory {d['memory_request']} (limit {memory_limit})"
    )


def _ns(text: str) -> str | None:
    match = _IN_NS.search(text)
    return match[1] if match else None


class Planner:
    """Deterministic: the same message in the same thread state always makes the same calls."""

    def __init__(self, toolset: Toolset, memory: ThreadMemory | None = None) -> None:
        self._tools = toolset
        self._memory = memory

    def respond(self, text: str, user: str, channel: str, thread_ts: str) -> Answer:
        state = self._memory.load(channel, thread_ts) if self._memory else ThreadState()
        turn = Turn(user=user, channel=channel, thread_ts=thread_ts)
        answer = self.answer(clean(text), turn, state)
        if self._memory is not None:
            state.add("user", text, self._memory.keep)
            state.add("assistant", answer.text, self._memory.keep)
            self._memory.save(channel, thread_ts, state)
        return answer

    def answer(self, text: str, turn: Turn, state: ThreadState) -> Answer:
        """Plan and run one message against ``state`` (updated in place)."""
        reply = self._dispatch(text, turn, state)
        proposal = turn.new_card or turn.changed
        if proposal is not None:
            state.proposal_id = proposal
        return Answer(
            text=reply,
            new_card=turn.new_card,
            changed=turn.changed,
            tool_calls=tuple(name for name, _, _ in turn.calls),
        )

    # -- dispatch --

    def _dispatch(self, text: str, turn: Turn, state: ThreadState) -> str:
        lowered = text.lower()
        verb = lowered.split()[0].strip("?!.,:") if lowered.split() else ""
        named = _PROPOSAL.search(text)
        proposal_id = named[0] if named else state.proposal_id
        if verb in ("", "help", "hi", "hello") or "what can you do" in lowered:
            return HELP
        if verb in _SIZE_VERBS:
            state.pending = None  # a new request starts afresh
            return self._size(extract(text), turn, state)
        if _APPROVE.search(lowered):
            return self._approve(proposal_id)
        if verb == "status":
            return self._status(proposal_id, turn)
        if verb in ("why", "explain") or lowered.startswith("how come"):
            return self._why(text, state, turn)
        if verb == "verify" or lowered.startswith("how is"):
            return self._verify(text, turn)
        if _RENDER.search(lowered):
            return self._render(proposal_id, turn)
        changes = edits(text)
        found = extract(text)
        if changes and state.proposal_id and (_EDIT_HINT.search(text) or not found.name):
            return self._edit(state.proposal_id, changes, turn)
        if state.pending is not None or (found.name and found.rps_high is not None):
            return self._size(found, turn, state)
        namespace = _ns(text) or "default"
        if _CAPACITY.search(lowered):
            return self._show(turn, "cluster_capacity", {})
        if "quota" in lowered:
            return self._show(turn, "namespace_quotas", {"namespace": namespace})
        if _WORKLOADS.search(lowered):
            return self._show(turn, "list_workloads", {"namespace": namespace})
        return "I did not catch that. " + HELP

    # -- handlers --

    def _call(self, turn: Turn, name: str, args: dict[str, Any]) -> ToolResult:
        return self._tools.call(name, args, turn)

    def _approve(self, proposal_id: str | None) -> str:
        where = f" on the card for `{proposal_id}`" if proposal_id else " on the proposal card"
        return (
            f"I can't approve or apply anything. An authorised person approves with the "
            f"*Approve* button{where}; nothing changes in the cluster until then."
        )

    def _size(self, found: Extracted, turn: Turn, state: ThreadState) -> str:
        wanted = state.pending.merged(found) if state.pending is not None else found
        if wanted.problems:
            state.pending = wanted.model_copy(update={"problems": ()})
            return wanted.problems[0]
        if wanted.missing:
            state.pending = wanted
            return question(wanted.missing, wanted.name)
        args = {
            k: v
            for k, v in {
                "name": wanted.name,
                "namespace": wanted.namespace,
                "language": wanted.language,
                "framework": wanted.framework,
                "kind": wanted.kind,
                "rps_low": wanted.rps_low,
                "rps_high": wanted.rps_high,
                "similar": list(wanted.similar),
                "critical": wanted.critical,
            }.items()
            if v is not None
        }
        result = self._call(turn, "submit_proposal", args)
        state.pending = None
        if result.status == "no_data":
            return self._preview(args, turn, result.error or "")
        if result.status == "error":
            return f"I could not size `{wanted.name}`: {result.error}"
        d = result.data
        notes = [r["text"] for r in d.get("reasons", []) if r["field"] == "confidence"]
        lines = [
            f"Proposed `{d['workload']}` in `{d['namespace']}`: {_fmt_size(d)}. "
            f"Confidence {d['confidence']}. Proposal `{d['proposal_id']}` is waiting for an "
            "authorised person to approve it on the card."
        ]
        if d.get("does_not_fit"):
            lines.append("It does not fit as proposed: " + "; ".join(d["does_not_fit"]))
        lines += [f"Note: {n}" for n in notes]
        return "\n".join(lines)

    def _preview(self, args: dict[str, Any], turn: Turn, why: str) -> str:
        result = self._call(turn, "recommend", args)
        if result.status != "ok":
            return f"I could not size `{args['name']}`: {result.error}"
        d = result.data
        lines = [f"Sized `{d['workload']}`: {_fmt_size(d)}. Confidence {d['confidence']}."]
        lines += [f"• {r['field']}: {r['text']}" for r in d["reasons"]]
        lines.append(f"Not stored as a proposal ({why}), so there is nothing to approve yet.")
        return "\n".join(lines)

    def _edit(self, proposal_id: str, changes: dict[str, Any], turn: Turn) -> str:
        result = self._call(turn, "edit_proposal", {"proposal_id": proposal_id, **changes})
        if result.status != "approval_required":
            return f"I could not edit `{proposal_id}`: {result.error}"
        d = result.data
        return (
            f"`{d['proposal_id']}` is now revision {d['revision']}: {_fmt_size(d)}. "
            "It still needs approval on the card."
        )

    def _why(self, text: str, state: ThreadState, turn: Turn) -> str:
        rest = re.sub(r"^(why|explain|how come)\b", "", text, flags=re.I)
        target = (_PROPOSAL.search(text) or [None])[0]
        if target is None:
            named = re.search(r"`([^`]+)`", rest) or re.search(
                r"\b(?:is|was|for|of)\s+([a-z0-9][-a-z0-9/]*[a-z0-9])\b", rest
            )
            if named is None:
                bare = rest.strip(" ?!.")
                named = re.fullmatch(r"([a-z0-9][-a-z0-9/]*[a-z0-9])", bare)
            target = named[1] if named else state.proposal_id
        if target is None:
            return "Why what? Name the workload or the proposal, e.g. `why items-api`."
        result = self._call(turn, "explain", {"target": target})
        if result.status != "ok" and state.proposal_id and target != state.proposal_id:
            # "why is memory so high?" names no workload: it is about this thread's proposal.
            result = self._call(turn, "explain", {"target": state.proposal_id})
        if result.status != "ok":
            return result.error or f"I have nothing stored for `{target}`."
        d = result.data
        wanted = {
            f for word, fields in _FIELD_WORDS.items() if word in text.lower() for f in fields
        }
        reasons = [r for r in d["reasons"] if not wanted or r["field"] in wanted]
        head = (
            f"`{d['workload']}` ({d['proposal_id']}, {d['state']}): {_fmt_size(d)}. "
            f"Confidence {d['confidence']}."
        )
        return "\n".join([head] + [f"• {r['field']}: {r['text']}" for r in reasons])

    def _status(self, proposal_id: str | None, turn: Turn) -> str:
        if proposal_id is None:
            return "Which proposal? Give its ID, e.g. `status p-1a2b3c4d`."
        result = self._call(turn, "proposal_status", {"proposal_id": proposal_id})
        if result.status != "ok":
            return result.error or f"no proposal {proposal_id}"
        d = result.data
        lines = [
            f"`{d['proposal_id']}` for `{d['namespace']}/{d['workload']}` is {d['state']} "
            f"(revision {d['revision']}): {_fmt_size(d)}."
        ]
        lines += [f"• {h}" for h in d.get("history", [])]
        return "\n".join(lines)

    def _render(self, proposal_id: str | None, turn: Turn) -> str:
        if proposal_id is None:
            return "Which proposal? Give its ID, e.g. `show the manifest of p-1a2b3c4d`."
        result = self._call(turn, "render_proposal", {"proposal_id": proposal_id})
        if result.status != "ok":
            return result.error or f"no proposal {proposal_id}"
        d = result.data
        return (
            f"What `{d['proposal_id']}` would apply (revision {d['revision']}):\n"
            f"```\n{d['manifest_yaml']}```\nPlan: {d['plan_summary']}"
        )

    def _verify(self, text: str, turn: Turn) -> str:
        words = re.sub(r"^(verify|how is)\b", "", text, flags=re.I)
        named = re.search(r"`([^`]+)`", words) or re.search(r"([a-z0-9][-a-z0-9]*[a-z0-9])", words)
        if named is None:
            return "Verify which workload? e.g. `verify items-api in team-a`."
        args = {"name": named[1], "namespace": _ns(words) or "default"}
        result = self._call(turn, "verify_workload", args)
        if result.status != "ok":
            return f"I cannot verify `{named[1]}`: {result.error}"
        d = result.data
        lines = [
            f"`{d['workload']}` over the last day: goals {d['verdict']}. Requests CPU "
            f"{d['cpu_request']}, memory {d['memory_request']}; p95 use CPU {d['cpu_p95']}, "
            f"memory {d['memory_p95']}; OOM kills {d['oom_kills']}, restarts {d['restarts']}."
        ]
        lines += [f"• {c['goal']}: {c['status']} — {c['detail']}" for c in d["checks"]]
        return "\n".join(lines)

    def _show(self, turn: Turn, name: str, args: dict[str, Any]) -> str:
        result = self._call(turn, name, args)
        if result.status != "ok":
            return result.error or "nothing to show"
        rows = result.data if isinstance(result.data, list) else [result.data]
        return "\n".join("• " + ", ".join(f"{k} {v}" for k, v in row.items()) for row in rows)
