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
from bot.agent.followups import edits
from bot.agent.memory import ThreadMemory, ThreadState
from bot.agent.payloads import (
    MatchPayload,
    ProposalPayload,
    SizedPayload,
    VerifyPayload,
    WorkloadRow,
)
from bot.agent.questions import question
from bot.agent.toolsets import ToolResult, Toolset, Turn
from tools.asking import Draft, Slot, read
from tools.asking import clean as clean_text
from tools.plain_why import plain_why
from tools.propose import SizeRequest

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
_EDIT_HINT = re.compile(r"\b(make|set|change|bump|raise|lower|reduce|increase|use|edit)\b", re.I)
_SIZE_VERBS = ("size", "sizing", "propose")
_APPROVE = re.compile(r"\b(approve|approval|ship it|go ahead|deploy|apply)\b")
_RENDER = re.compile(r"\b(manifest|render|plan|preview|yaml)\b")
_CAPACITY = re.compile(r"\b(room|capacity|nodes|hypervisors?|allocatable)\b")
_WORKLOADS = re.compile(r"\b(workloads|what runs|running)\b")
_TOPIC_WORDS = {
    "memory": "memory",
    "mem ": "memory",
    "ram": "memory",
    "cpu": "cpu",
    "replica": "replicas",
    "pods": "replicas",
}
_TOPICS = {"memory", "cpu", "replicas", "so", "much", "many", "high", "low", "detail"}
_SIZE_INTENT = re.compile(r"\b(?:size|sizing|resize|resources\s+for)\b", re.I)
_NO_IMAGE = re.compile(r"\b(?:no|none|skip|later|not\s+yet|don'?t\s+know|tbd)\b", re.I)


def _revises(found: Draft) -> bool:
    """A message that changes the last request rather than starting a new one."""
    return not found.name and (
        found.has_load
        or bool(found.similar)
        or found.image is not None
        or found.namespace is not None
        or found.critical is not None
    )


def _restates_stack(found: Draft) -> bool:
    """A language or framework alone: the answer to "rails is a ruby framework, not python"."""
    return found.language is not None or found.framework is not None


def turn_text(turn: Turn) -> str:
    return turn.text


def clean(text: str) -> str:
    return clean_text(text)


def _fmt_size(d: ProposalPayload | SizedPayload) -> str:
    return (
        f"{d.replicas} replicas × CPU {d.cpu_request} (limit {d.cpu_limit or 'none'}), "
        f"memory {d.memory_request} (limit {d.memory_limit or 'none'})"
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
        turn = Turn(user=user, channel=channel, thread_ts=thread_ts, text=clean(text))
        answer = self.answer(clean(text), turn, state)
        if self._memory is not None:
            state.add("user", text, self._memory.keep)
            state.add("assistant", answer.text, self._memory.keep)
            self._memory.save(channel, thread_ts, state)
        return answer

    def answer(self, text: str, turn: Turn, state: ThreadState) -> Answer:
        """Plan and run one message against ``state`` (updated in place)."""
        self._choices: tuple[str, ...] = ()
        self._explained: str | None = None
        reply = self._dispatch(text, turn, state)
        proposal = turn.new_card or turn.changed
        if proposal is not None:
            state.proposal_id = proposal
        return Answer(
            text=reply,
            new_card=turn.new_card,
            changed=turn.changed,
            tool_calls=tuple(name for name, _, _ in turn.calls),
            choices=self._choices,
            explained=self._explained,
        )

    # -- dispatch --

    def _dispatch(self, text: str, turn: Turn, state: ThreadState) -> str:
        lowered = text.lower()
        verb = lowered.split()[0].strip("?!.,:") if lowered.split() else ""
        named = _PROPOSAL.search(text)
        proposal_id = named[0] if named else state.proposal_id
        if verb in ("", "help", "hi", "hello") or "what can you do" in lowered:
            return HELP
        if lowered.strip(" .!") in ("start over", "forget it", "cancel", "never mind"):
            state.pending, state.asked, state.asked_times = None, None, {}
            return "Starting afresh. What would you like me to size?"
        if verb in _SIZE_VERBS or (_SIZE_INTENT.search(lowered) and state.pending is None):
            state.pending, state.asked, state.asked_times = None, None, {}
            return self._size(read(text), turn, state)
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
        found = read(text, asked=state.asked)
        if state.proposal_id and not found.name and not found.has_load:
            changes = edits(text, self._current(state.proposal_id, turn))
            if changes:
                return self._edit(state.proposal_id, changes, turn)
        if state.pending is not None and (
            state.asked or found.is_request or found.problems or _restates_stack(found)
        ):
            return self._size(found, turn, state)
        if found.name and (found.has_load or found.kind == "worker"):
            return self._size(found, turn, state)
        if state.last_request is not None and _revises(found):
            return self._size(found, turn, state, revise=True)
        if found.problems:
            return found.problems[0]
        namespace = _ns(text) or "default"
        if _CAPACITY.search(lowered):
            return self._show(turn, "cluster_capacity", {})
        if "quota" in lowered:
            return self._show(turn, "namespace_quotas", {"namespace": namespace})
        if _WORKLOADS.search(lowered):
            return self._show(turn, "list_workloads", {"namespace": namespace})
        if found.is_request:
            return self._size(found, turn, state)
        return "I did not catch that. " + HELP

    # -- handlers --

    def _call(self, turn: Turn, name: str, args: dict[str, Any]) -> ToolResult:
        return self._tools.call(name, args, turn)

    def _current(self, proposal_id: str, turn: Turn) -> dict[str, Any] | None:
        result = self._call(turn, "proposal_status", {"proposal_id": proposal_id})
        if result.status != "ok" or not isinstance(result.data, ProposalPayload):
            return None
        return result.data.model_dump()

    def _approve(self, proposal_id: str | None) -> str:
        where = f" on the card for `{proposal_id}`" if proposal_id else " on the proposal card"
        return (
            f"I can't approve or apply anything. An authorised person approves with the "
            f"*Approve* button{where}; nothing changes in the cluster until then."
        )

    def _ask(self, slot: Slot, wanted: Draft, state: ThreadState, query: str = "") -> str:
        times = state.asked_times.get(slot, 0)
        state.asked_times[slot] = times + 1
        state.asked = slot
        state.pending = wanted
        return question(slot, wanted, times, query)

    def _size(self, found: Draft, turn: Turn, state: ThreadState, *, revise: bool = False) -> str:
        if revise and state.last_request is not None:
            base = Draft.of(state.last_request)
        else:
            base = state.pending or Draft()
        wanted = base.merged(found)
        if state.asked == "image" and found.image is None and _NO_IMAGE.search(turn_text(turn)):
            wanted = wanted.model_copy(update={"image": ""})
        if wanted.problems:
            state.pending = wanted.model_copy(update={"problems": ()})
            return wanted.problems[0]
        missing = wanted.missing()
        if missing:
            return self._ask(missing[0], wanted, state)
        notes: list[str] = []
        if wanted.image is None:
            image = self._existing_image(wanted, turn)
            if image is None:
                return self._ask("image", wanted, state)
            wanted = wanted.model_copy(update={"image": image})
            notes.append(f"using the image of the running `{wanted.name}`: {image}")
        resolved: list[str] = []
        namespace = wanted.namespace or "default"
        for query in wanted.similar:
            if state.choice_for == query or query in state.choices:
                resolved.append(query)
                continue
            match = self._call(turn, "match_service", {"service": query, "namespace": namespace})
            if match.status != "ok":
                notes.append(
                    f"no known service is called {query!r}, so I sized from the peers most like it"
                )
                continue
            assert isinstance(match.data, MatchPayload)
            name, choices = match.data.name, match.data.choices
            if name is None:
                state.choices, state.choice_for = list(choices), query
                rest = tuple(q for q in wanted.similar if q != query)
                self._choices = tuple(choices)
                return self._ask(
                    "similar", wanted.model_copy(update={"similar": rest}), state, query
                )
            resolved.append(name)
            if name != query:
                notes.append(f"using {name} as the similar service (for “{query}”)")
        wanted = wanted.model_copy(update={"similar": tuple(dict.fromkeys(resolved))})
        state.choices, state.choice_for = [], None
        try:
            request = wanted.model_copy(update={"image": wanted.image or None}).request()
        except ValueError as exc:
            state.pending = wanted
            return f"I can't size that yet: {exc}"
        state.pending, state.asked, state.asked_times = None, None, {}
        state.last_request = request
        return self._submit(request, turn, notes)

    def _existing_image(self, wanted: Draft, turn: Turn) -> str | None:
        result = self._call(turn, "list_workloads", {"namespace": wanted.namespace or "default"})
        rows = result.data if result.status == "ok" and isinstance(result.data, tuple) else ()
        for row in rows:
            if isinstance(row, WorkloadRow) and row.workload == wanted.name and row.image:
                return row.image
        return None

    def _submit(self, request: SizeRequest, turn: Turn, notes: list[str]) -> str:
        args = request.model_dump(mode="json", exclude_none=True)
        result = self._call(turn, "submit_proposal", args)
        if result.status == "no_data":
            return self._preview(args, turn, result.error or "", notes)
        if result.status == "error":
            return f"I could not size `{request.name}`: {result.error}"
        d = result.data
        assert isinstance(d, ProposalPayload)
        notes += [
            r.text
            for r in d.reasons or ()
            if r.field == "confidence" and not r.text.startswith("confidence ")
        ]
        lines = [
            f"Proposed `{d.workload}` in `{d.namespace}`: {_fmt_size(d)}. "
            f"Confidence {d.confidence}. Proposal `{d.proposal_id}` is waiting for an "
            "authorised person to approve it on the card."
        ]
        if not request.image:
            lines.append("It has no image yet, so it cannot be applied: ask again with the image.")
        if d.does_not_fit:
            lines.append("It does not fit as proposed: " + "; ".join(d.does_not_fit))
        lines += [f"Note: {n}" for n in notes]
        return "\n".join(lines)

    def _preview(self, args: dict[str, Any], turn: Turn, why: str, notes: list[str]) -> str:
        result = self._call(turn, "recommend", args)
        if result.status != "ok":
            return f"I could not size `{args['name']}`: {result.error}"
        d = result.data
        assert isinstance(d, SizedPayload)
        lines = [f"Sized `{d.workload}`: {_fmt_size(d)}. Confidence {d.confidence}."]
        lines += plain_why(d.reasons, d.numbers(), language=args.get("language"))
        lines += [f"Note: {n}" for n in notes]
        lines.append(
            f"Not stored as a proposal, so there is nothing to approve or change yet: {why}."
        )
        return "\n".join(lines)

    def _edit(self, proposal_id: str, changes: dict[str, Any], turn: Turn) -> str:
        result = self._call(turn, "edit_proposal", {"proposal_id": proposal_id, **changes})
        if result.status != "approval_required":
            return f"I could not edit `{proposal_id}`: {result.error}"
        d = result.data
        assert isinstance(d, ProposalPayload)
        return (
            f"`{d.proposal_id}` is now revision {d.revision}: {_fmt_size(d)}. "
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
            target = named[1] if named and named[1] not in _TOPICS else state.proposal_id
        focus = [t for word, t in _TOPIC_WORDS.items() if word in text.lower()]
        if target is None:
            if state.last_request is not None:
                return self._why_unstored(state.last_request, turn, focus)
            return "Why what? Name the workload or the proposal, e.g. `why items-api`."
        result = self._call(turn, "explain", {"target": target})
        if result.status != "ok" and state.proposal_id and target != state.proposal_id:
            # "why is memory so high?" names no workload: it is about this thread's proposal.
            result = self._call(turn, "explain", {"target": state.proposal_id})
        if result.status != "ok":
            return result.error or f"I have nothing stored for `{target}`."
        d = result.data
        assert isinstance(d, ProposalPayload)
        self._explained = d.proposal_id
        reasons = d.reasons or ()
        lines = plain_why(
            reasons,
            d.numbers(),
            language=d.language,
            edits=d.edits or (),
            focus=dict.fromkeys(focus),
            proposed=d.proposed,
        )
        head = (
            f"`{d.workload}` ({d.proposal_id}, {d.state}): {_fmt_size(d)}. "
            f"Confidence {d.confidence}."
        )
        return (
            "\n".join([head, *lines, "Ask `why in detail` for the engine's numbers."])
            if ("detail" not in text.lower())
            else "\n".join(
                [head]
                + [f"• {r.field}: {r.text} ({r.statistic}; {r.window})" for r in reasons]
                + [e.sentence() + "." for e in d.edits or ()]
            )
        )

    def _why_unstored(self, request: SizeRequest, turn: Turn, focus: list[str]) -> str:
        args = request.model_dump(mode="json", exclude_none=True)
        result = self._call(turn, "recommend", args)
        if result.status != "ok":
            return result.error or "I cannot size it again right now."
        d = result.data
        assert isinstance(d, SizedPayload)
        lines = plain_why(d.reasons, d.numbers(), language=request.language, focus=focus)
        return "\n".join([f"`{request.name}`: {_fmt_size(d)}.", *lines])

    def _status(self, proposal_id: str | None, turn: Turn) -> str:
        if proposal_id is None:
            return "Which proposal? Give its ID, e.g. `status p-1a2b3c4d`."
        result = self._call(turn, "proposal_status", {"proposal_id": proposal_id})
        if result.status != "ok":
            return result.error or f"no proposal {proposal_id}"
        d = result.data
        assert isinstance(d, ProposalPayload)
        lines = [
            f"`{d.proposal_id}` for `{d.namespace}/{d.workload}` is {d.state} "
            f"(revision {d.revision}): {_fmt_size(d)}."
        ]
        lines += [f"• {h}" for h in d.history or ()]
        return "\n".join(lines)

    def _render(self, proposal_id: str | None, turn: Turn) -> str:
        if proposal_id is None:
            return "Which proposal? Give its ID, e.g. `show the manifest of p-1a2b3c4d`."
        result = self._call(turn, "render_proposal", {"proposal_id": proposal_id})
        if result.status != "ok":
            return result.error or f"no proposal {proposal_id}"
        d = result.data
        assert isinstance(d, ProposalPayload)
        return (
            f"What `{d.proposal_id}` would apply (revision {d.revision}):\n"
            f"```\n{d.manifest_yaml}```\nPlan: {d.plan_summary}"
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
        assert isinstance(d, VerifyPayload)
        lines = [
            f"`{d.workload}` over the last day: goals {d.verdict}. Requests CPU "
            f"{d.cpu_request}, memory {d.memory_request}; p95 use CPU {d.cpu_p95}, "
            f"memory {d.memory_p95}; OOM kills {d.oom_kills}, restarts {d.restarts}."
        ]
        lines += [f"• {c.goal}: {c.status} — {c.detail}" for c in d.checks]
        return "\n".join(lines)

    def _show(self, turn: Turn, name: str, args: dict[str, Any]) -> str:
        result = self._call(turn, name, args)
        if result.status != "ok":
            return result.error or "nothing to show"
        data = result.data
        rows = data if isinstance(data, tuple) else () if data is None else (data,)
        return "\n".join(
            "• " + ", ".join(f"{k} {v}" for k, v in row.plain("python").items()) for row in rows
        )
