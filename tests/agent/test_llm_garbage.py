"""An endpoint that answers HTTP 200 with garbage: one clear line, then the planner answers."""

from __future__ import annotations

import pytest

from bot.agent.memory import ThreadMemory
from bot.cli import main
from tests.agent.test_ask_cli import env  # noqa: F401 - the CLI's Redis prefix and env
from tests.agent.test_llm import SIZE_ARGS, agent
from tests.emulators.openai_api import OpenAIEmulator

GARBAGE = [
    "<<not json>>",
    '{"choices": null}',
    "{}",
    "[]",
    "null",
    '"hello"',
    '{"choices": []}',
    '{"choices": [{"message": null}]}',
    '{"choices": [{"message": {"role": "assistant", "content": 5}}]}',
    '{"choices": [{"message": {"role": "assistant", "tool_calls": [{"function": null}]}}]}',
]
NOT_A_COMPLETION = "answered HTTP 200 with something that is not a chat completion"


@pytest.mark.parametrize("streaming", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize("raw", GARBAGE)
def test_garbage_answer_falls_back_to_the_planner(
    llm: OpenAIEmulator, memory: ThreadMemory, raw: str, streaming: bool
) -> None:
    llm.garbage(raw)
    answer = agent(llm, memory, streaming=streaming, fallback=True).respond(
        "help", "U1", "C1", "1.0"
    )
    assert answer.via == "fallback"
    assert NOT_A_COMPLETION in answer.text and "I size Kubernetes workloads" in answer.text


def test_an_html_error_page_with_status_200(llm: OpenAIEmulator) -> None:
    llm.garbage("<html><body>Bad gateway</body></html>", content_type="text/html")
    answer = agent(llm, fallback=True).respond("help", "U1", "C1", "1.0")
    assert answer.via == "fallback" and NOT_A_COMPLETION in answer.text


def test_garbage_after_a_tool_ran_does_not_repeat_it(llm: OpenAIEmulator) -> None:
    llm.call("recommend", SIZE_ARGS)
    llm.garbage('{"choices": null}')
    answer = agent(llm, fallback=True).respond("size items-api at 50-100 rps", "U", "C", "1")
    assert answer.via == "llm" and answer.tool_calls == ("recommend",)
    assert NOT_A_COMPLETION in answer.text and "Try again in a minute" in answer.text


@pytest.mark.parametrize("raw", ["<<not json>>", '{"choices": null}'])
def test_sizer_ask_answers_from_the_planner(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    llm = OpenAIEmulator()
    llm.start()
    try:
        monkeypatch.setenv("OPENAI_BASE_URL", llm.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test")
        monkeypatch.setenv("SIZER_LLM_MAX_RETRIES", "0")
        llm.garbage(raw)
        assert main(["ask", "help"]) == 0
        captured = capsys.readouterr()
        assert NOT_A_COMPLETION in captured.out and "I size Kubernetes workloads" in captured.out
        assert "Traceback" not in captured.err
    finally:
        llm.stop()
