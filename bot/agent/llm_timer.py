"""Times every call the agent makes to the LLM endpoint, through LangChain's callbacks.

A turn makes several model calls (one per tool step); each one is observed on its own, and a
call that fails is counted as an error of kind ``call`` before the turn decides what to say.
"""

from __future__ import annotations

import threading
import time
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler

from bot.observability.metrics import LLM_ERRORS, LLM_SECONDS

__all__ = ["LLMTimer"]


class LLMTimer(BaseCallbackHandler):
    def __init__(self) -> None:
        self._started: dict[UUID, float] = {}
        self._lock = threading.Lock()

    def on_chat_model_start(
        self, serialized: dict[str, Any], messages: Any, *, run_id: UUID, **kwargs: Any
    ) -> None:
        with self._lock:
            self._started[run_id] = time.perf_counter()

    def on_llm_start(
        self, serialized: dict[str, Any], prompts: list[str], *, run_id: UUID, **kwargs: Any
    ) -> None:
        with self._lock:
            self._started[run_id] = time.perf_counter()

    def _finish(self, run_id: UUID) -> None:
        with self._lock:
            started = self._started.pop(run_id, None)
        if started is not None:
            LLM_SECONDS.observe(time.perf_counter() - started)

    def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._finish(run_id)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._finish(run_id)
        LLM_ERRORS.labels("call").inc()
