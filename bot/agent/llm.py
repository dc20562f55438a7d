"""The LLM agent: LangChain ``create_agent`` + ``ChatOpenAI`` over the same tools as the planner.

Any OpenAI-compatible endpoint works (OpenAI, Azure, vLLM, Ollama, llama.cpp). A turn is
bounded three ways: tool rounds (the graph's recursion limit), tool calls and wall time (the
tools refuse once either budget is spent, and the caller stops waiting at the deadline). When
the endpoint fails, the thread gets a clear message and, if configured, the built-in planner's
answer instead. A final answer quoting a number no tool returned is flagged, not trusted.

What the endpoint can do wrong, and what the thread is told before the planner answers::

    openai.APIConnectionError, APITimeoutError   "is not reachable"
    openai.APIStatusError                        "answered HTTP N"
    MalformedReply                               "answered HTTP 200 with something that is
                                                  not a chat completion" (not JSON, no
                                                  choices, a message of the wrong shape)
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import openai
from langchain.agents import create_agent
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.tools import StructuredTool
from langchain_openai import ChatOpenAI
from langgraph.errors import GraphRecursionError
from pydantic import SecretStr

from bot.agent.answer import Answer
from bot.agent.fence import redact
from bot.agent.llm_timer import LLMTimer
from bot.agent.memory import ThreadMemory, ThreadState
from bot.agent.planner import Planner, clean
from bot.agent.prompt import SYSTEM_PROMPT
from bot.agent.toolsets import AgentTool, Toolset, Turn
from bot.observability.metrics import LLM_ERRORS

log = logging.getLogger(__name__)
# Quantities and counts an answer might state: 250m, 512Mi, 1.5Gi, 80 rps, 3 replicas, 0.72.
_NUMBER = re.compile(r"(?<![\w.-])(\d+(?:\.\d+)?)\s*(m|Mi|Gi|Ki|%)?(?!\w|\.\d)")
_PROPOSAL = re.compile(r"p-[0-9a-f]{8}")
MALFORMED_RETRIES = 2


class MalformedReply(Exception):
    """The endpoint answered, but not with a chat completion (garbage, a wrong shape)."""


def _malformed(exc: Exception) -> MalformedReply:
    return MalformedReply(f"{type(exc).__name__}: {str(exc)[:160]}")


class CheckedChatOpenAI(ChatOpenAI):
    """``ChatOpenAI`` whose answers that cannot be read raise :class:`MalformedReply`.

    Parsing a 200 that is not a chat completion fails deep inside the client and LangChain
    with whatever error the shape happens to trip (JSONDecodeError, TypeError,
    AttributeError, a pydantic error, ...). Turning all of them into one exception here, at the
    model call, keeps the agent's error handling to the endpoint and nothing else.
    """

    def _generate(self, *args: Any, **kwargs: Any) -> ChatResult:
        try:
            result = super()._generate(*args, **kwargs)
        except openai.OpenAIError:
            raise
        except Exception as exc:  # any parse failure of the answer
            raise _malformed(exc) from exc
        if not any(_readable(g.message, g.generation_info) for g in result.generations):
            raise MalformedReply("no message, tool call or finish reason in the answer")
        return result

    def _stream(self, *args: Any, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        readable = False
        try:
            for chunk in super()._stream(*args, **kwargs):
                readable = readable or _readable(chunk.message, chunk.generation_info)
                yield chunk
        except openai.OpenAIError:
            raise
        except Exception as exc:  # any parse failure of a chunk
            raise _malformed(exc) from exc
        if not readable:
            raise MalformedReply("the stream ended without a message, tool call or finish reason")


def _readable(message: BaseMessage, info: dict[str, Any] | None) -> bool:
    """A real completion has content, a tool call, or at least says why it stopped."""
    if message.content or (info or {}).get("finish_reason"):
        return True
    return isinstance(message, AIMessage) and bool(message.tool_calls or message.invalid_tool_calls)


def chat_model(
    base_url: str,
    api_key: str,
    model: str,
    timeout_s: float,
    *,
    streaming: bool = False,
    max_retries: int = 1,
) -> ChatOpenAI:
    """``ChatOpenAI`` against an OpenAI-compatible endpoint; deterministic sampling."""
    return CheckedChatOpenAI(
        base_url=base_url,
        api_key=SecretStr(api_key),
        model=model,
        timeout=timeout_s,
        max_retries=max_retries,
        temperature=0,
        streaming=streaming,
    )


def ungrounded(answer: str, sources: list[str]) -> list[str]:
    """Numbers in ``answer`` that appear in none of ``sources`` (tool results, the question)."""
    text = _PROPOSAL.sub("", answer)
    haystack = " ".join(_PROPOSAL.sub("", s) for s in sources)
    known = {m[1] for m in _NUMBER.finditer(haystack)} | {
        m[1] + (m[2] or "") for m in _NUMBER.finditer(haystack)
    }
    out = []
    for match in _NUMBER.finditer(text):
        number, unit = match[1], match[2] or ""
        if float(number) <= 1 and not unit:
            continue  # "1 question", "0 pods": counting words, not sizes
        if number + unit not in known and (unit or number not in known):
            out.append(number + unit)
    return out


def _langchain_tool(tool: AgentTool, toolset: Toolset, turn: Turn) -> StructuredTool:
    def run(**kwargs: Any) -> str:
        return toolset.call(tool.name, kwargs, turn).text()

    # A JSON schema (not the model) so bad arguments reach our validation, whose message
    # goes back to the model as a tool result it can correct from.
    return StructuredTool(
        name=tool.name,
        description=tool.description,
        args_schema=tool.args.model_json_schema(),
        func=run,
    )


def _content(message: AIMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    return "".join(
        part.get("text", "") if isinstance(part, dict) else str(part) for part in content
    )


class LlmAgent:
    """Answers a thread message with the model driving the tools; falls back when it cannot."""

    def __init__(
        self,
        model: BaseChatModel,
        toolset: Toolset,
        memory: ThreadMemory | None = None,
        *,
        max_steps: int = 8,
        wall_s: float = 120.0,
        fallback: Planner | None = None,
        endpoint: str = "the language model endpoint",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._model = model
        self._tools = toolset
        self._memory = memory
        self._max_steps = max_steps
        self._wall_s = wall_s
        self._fallback = fallback
        self._endpoint = endpoint
        self._clock = clock

    def respond(self, text: str, user: str, channel: str, thread_ts: str) -> Answer:
        state = self._memory.load(channel, thread_ts) if self._memory else ThreadState()
        turn = Turn(
            user=user,
            channel=channel,
            thread_ts=thread_ts,
            deadline=self._clock() + self._wall_s,
            max_calls=2 * self._max_steps,
            clock=self._clock,
            said="\n".join([*(m.text for m in state.messages if m.role == "user"), text]),
        )
        answer = self._answer(clean(text), turn, state)
        if answer.new_card or answer.changed:
            state.proposal_id = answer.new_card or answer.changed
        if self._memory is not None:
            state.add("user", text, self._memory.keep)
            state.add("assistant", answer.text, self._memory.keep)
            self._memory.save(channel, thread_ts, state)
        return answer

    def _answer(self, text: str, turn: Turn, state: ThreadState) -> Answer:
        try:
            reply = self._run(text, turn, state)
        except GraphRecursionError:
            LLM_ERRORS.labels("steps").inc()
            reply = (
                f"I stopped after {self._max_steps} tool steps without a final answer. "
                "Ask something narrower, or use the grammar: `size NAME --rps 50-100`."
            )
        except concurrent.futures.TimeoutError:
            LLM_ERRORS.labels("deadline").inc()
            reply = (
                f"I ran out of time ({self._wall_s:g} s) before finishing. Nothing was changed "
                "beyond any proposal card posted above; ask again or narrow the question."
            )
        except (openai.APIConnectionError, openai.APITimeoutError) as exc:
            LLM_ERRORS.labels("connection").inc()
            return self._down(f"is not reachable ({type(exc).__name__})", text, turn, state)
        except (MalformedReply, openai.APIResponseValidationError) as exc:
            log.warning("unreadable answer from %s: %s", self._endpoint, exc)
            return self._down(
                "answered HTTP 200 with something that is not a chat completion", text, turn, state
            )
        except openai.APIStatusError as exc:
            LLM_ERRORS.labels("status").inc()
            why = f"answered HTTP {exc.status_code}"
            if exc.status_code in (401, 403):
                why += " (the key was refused: check OPENAI_API_KEY)"
            elif exc.status_code == 404:
                why += " (check OPENAI_BASE_URL and SIZER_LLM_MODEL)"
            return self._down(why, text, turn, state)
        return Answer(
            text=reply,
            new_card=turn.new_card,
            changed=turn.changed,
            via="llm",
            tool_calls=tuple(name for name, _, _ in turn.calls),
        )

    def _down(self, why: str, text: str, turn: Turn, state: ThreadState) -> Answer:
        log.warning("LLM endpoint %s %s", self._endpoint, why)
        message = f"The language model at {self._endpoint} {why}."
        if self._fallback is None or turn.calls:
            # Tools already ran this turn (e.g. a card was posted): do not repeat them.
            return Answer(
                text=message + " Try again in a minute, or use the command grammar "
                "(`size NAME --rps 50-100`, `why NAME`, `status ID`, `help`).",
                new_card=turn.new_card,
                changed=turn.changed,
                via="llm",
                tool_calls=tuple(name for name, _, _ in turn.calls),
            )
        planned = self._fallback.answer(text, turn, state)
        return Answer(
            text=message + " The built-in planner answered instead:\n" + planned.text,
            new_card=planned.new_card,
            changed=planned.changed,
            via="fallback",
            tool_calls=planned.tool_calls,
        )

    def _invoke(self, graph: Any, messages: list[AnyMessage], turn: Turn) -> list[AnyMessage]:
        """Run the graph in a worker so the caller stops waiting at the turn's deadline."""
        config: Any = {"recursion_limit": 2 * self._max_steps + 1, "callbacks": [LLMTimer()]}
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        try:
            future = pool.submit(graph.invoke, {"messages": messages}, config)
            remaining = max(0.0, (turn.deadline or 0) - self._clock())
            result = future.result(timeout=remaining)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        out: list[AnyMessage] = result["messages"]
        return out

    def _run(self, text: str, turn: Turn, state: ThreadState) -> str:
        tools = [_langchain_tool(t, self._tools, turn) for t in self._tools.tools.values()]
        prompt = SYSTEM_PROMPT
        if state.proposal_id:
            prompt += f"\n\nThis thread is about proposal `{state.proposal_id}`."
        graph = create_agent(self._model, tools, system_prompt=prompt)
        # What people paste into a thread (a connection string, a token) is masked too.
        history: list[AnyMessage] = [
            HumanMessage(redact(m.text)) if m.role == "user" else AIMessage(redact(m.text))
            for m in state.messages
        ]
        history.append(HumanMessage(redact(text)))
        messages: list[AnyMessage] = history
        final: AIMessage | None = None
        for _ in range(1 + MALFORMED_RETRIES):
            messages = self._invoke(graph, messages, turn)
            final = next((m for m in reversed(messages) if isinstance(m, AIMessage)), None)
            if final is None or not final.invalid_tool_calls or final.tool_calls:
                break
            # Arguments that are not JSON never reach a tool: say so, so the model can retry.
            messages = [
                *messages,
                *(
                    ToolMessage(
                        f"error: the arguments of {bad.get('name')} are not valid JSON "
                        f"({bad.get('error') or 'unparsable'}); call it again with a JSON object",
                        tool_call_id=bad.get("id") or "",
                    )
                    for bad in final.invalid_tool_calls
                ),
            ]
        reply = _content(final).strip() if final is not None else ""
        if not reply:
            return "I have no answer to that. Try `help` for what I can do."
        sources = [text, *(m.text for m in state.messages)]
        sources += [json.dumps(r.model_dump(), default=str) for _, _, r in turn.calls]
        loose = ungrounded(reply, sources)
        if loose:
            reply += (
                f"\n_(Check before relying on it: {', '.join(sorted(set(loose)))} did not come "
                "from any tool result.)_"
            )
        return reply
