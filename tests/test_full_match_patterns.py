"""Patterns that validate input match the whole text: a trailing newline is not a valid name.

In Python's ``re``, ``$`` also matches just before a final ``\\n``, so ``^[a-z]+$`` accepts
``"api\\n"``. Every compiled pattern in the product is anchored with ``\\A``/``\\Z`` (or used
with ``fullmatch``); pydantic's ``Field(pattern=...)`` runs on Rust's regex engine, where
``$`` is the end of the text, and the tests below hold it to that.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from bot.agent.toolsets import Toolset, Turn
from bot.agent.toolsets.proposals import EditArgs, ProposalArgs, TargetArgs
from bot.agent.toolsets.sizing import SimilarArgs, SizeArgs
from bot.approvals.access import AccessError, load_access
from bot.executors.ansible import AnsibleRenderer
from bot.executors.errors import StepFailed
from bot.service import PROPOSAL_ID
from tests.agent.doubles import FakeProposals, capabilities
from tests.executors.conftest import proposal
from tools.prometheus import queries
from tools.propose import SizeRequest
from tools.sizing.models import ServiceMeta, check_dns1123

ROOT = Path(__file__).resolve().parents[1]
_SIZE = {"name": "a", "rps_low": 1, "rps_high": 2}


def _compiled_patterns() -> list[tuple[str, int, str]]:
    found = []
    for package in ("bot", "tools"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "compile"
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "re"
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)
                ):
                    found.append((str(path.relative_to(ROOT)), node.lineno, node.args[0].value))
    return found


def test_no_compiled_pattern_ends_with_a_dollar() -> None:
    patterns = _compiled_patterns()
    assert len(patterns) > 20  # the scan sees the product's patterns
    loose = [f"{p}:{line} {text!r}" for p, line, text in patterns if re.search(r"(?<!\\)\$$", text)]
    assert loose == [], "anchor with \\Z (or use fullmatch): " + ", ".join(loose)


@pytest.mark.parametrize("name", ["nl-api\n", "nl-api\r\n", "nl-api\x00", " nl-api", "nl-api "])
def test_names_with_trailing_or_leading_junk_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="DNS-1123"):
        check_dns1123(name)
    with pytest.raises(ValidationError):
        ServiceMeta(name=name)
    with pytest.raises(ValidationError):
        SizeRequest(name=name, rps_low=1, rps_high=2)
    with pytest.raises(ValidationError):
        SizeRequest(name="ok", namespace=name, rps_low=1, rps_high=2)
    with pytest.raises(ValueError):
        queries.matcher("namespace", name)
    assert PROPOSAL_ID.fullmatch("p-0000abcd") and not PROPOSAL_ID.fullmatch("p-0000abcd\n")


@pytest.mark.parametrize(
    ("model", "values", "field"),
    [
        (SizeArgs, {**_SIZE, "framework": "fastapi"}, "framework"),
        (SimilarArgs, {"framework": "fastapi"}, "framework"),
        (TargetArgs, {"target": "team-a/items-api"}, "target"),
        (ProposalArgs, {"proposal_id": "p-0000abcd"}, "proposal_id"),
        (EditArgs, {"proposal_id": "p-0000abcd"}, "proposal_id"),
        (SizeRequest, {**_SIZE, "framework": "fastapi"}, "framework"),
    ],
)
def test_pydantic_patterns_match_the_whole_text(
    model: type[BaseModel], values: dict[str, Any], field: str
) -> None:
    model.model_validate(values)  # the valid value passes
    with pytest.raises(ValidationError):
        model.model_validate({**values, field: values[field] + "\n"})


def test_access_file_refuses_ids_with_a_newline(tmp_path: Path) -> None:
    bad = tmp_path / "access.yaml"
    bad.write_text('namespaces:\n  team-a:\n    approvers: {users: ["U123\\n"]}\n')
    with pytest.raises(AccessError, match="U123"):
        load_access(bad)


@pytest.mark.parametrize(
    "field",
    ["workload", "namespace", "proposal_id", "image"],
)
def test_renderer_refuses_a_trailing_newline(tmp_path: Path, field: str) -> None:
    renderer = AnsibleRenderer(tmp_path, tmp_path / "runs")
    value = {"workload": "nl-api", "namespace": "team-a", "proposal_id": "p-1", "image": "a/b:1"}
    with pytest.raises(StepFailed, match="render"):
        renderer.render(proposal(**{field: value[field] + "\n"}), lambda _: None)
    with pytest.raises(StepFailed, match="label"):
        renderer.render(proposal(labels={"team": "a\n"}), lambda _: None)


def test_agent_refuses_a_trailing_newline_at_the_edge() -> None:
    proposals = FakeProposals()
    tools = Toolset(capabilities(proposals=proposals))
    turn = Turn(user="U1", channel="C1", thread_ts="1.0")
    for tool in ("submit_proposal", "recommend"):
        result = tools.call(tool, {"name": "nl-api\n", "rps_low": 50, "rps_high": 100}, turn)
        assert result.status == "error" and "DNS-1123" in (result.error or ""), result
    assert proposals.stored == {} and proposals.calls == []


def test_a_model_proposing_a_name_with_a_newline_is_refused() -> None:
    from bot.agent.llm import LlmAgent, chat_model
    from tests.emulators.openai_api import OpenAIEmulator

    llm = OpenAIEmulator()
    llm.start()
    try:
        proposals = FakeProposals()
        args = {"name": "nl-api\n", "rps_low": 50, "rps_high": 100}
        llm.call("submit_proposal", args).reply("I could not size it.")
        tools = Toolset(capabilities(proposals=proposals))
        agent = LlmAgent(chat_model(llm.base_url, "t", "m", 5), tools)
        answer = agent.respond("size nl-api at 50-100 rps", "U1", "C1", "1.0")
        refusal = llm.tool_messages()[0]["content"]
        assert '"status": "error"' in refusal and "DNS-1123" in refusal
        assert answer.new_card is None and proposals.stored == {}
    finally:
        llm.stop()
