from __future__ import annotations

import json

from bot.agent.memory import ThreadMemory
from bot.agent.planner import Planner, edits
from bot.agent.toolsets import Toolset
from tests.agent.doubles import FakeProposals, capabilities

SIZE = (
    "<@U0SIZER> size a new FastAPI service `items-api`, Python 3.10, 50–100 req/s, "
    "similar to `emailservice`, image ghcr.io/acme/items-api:1.4.2"
)


def planner(memory: ThreadMemory) -> tuple[Planner, FakeProposals]:
    proposals = FakeProposals()
    return Planner(Toolset(capabilities(proposals=proposals)), memory), proposals


def test_size_creates_a_card_with_numbers_from_the_tool(memory: ThreadMemory) -> None:
    bot, proposals = planner(memory)
    answer = bot.respond(SIZE, "U1", "C1", "1.0")
    assert answer.new_card is not None
    assert answer.tool_calls == ("match_service", "submit_proposal")
    view = proposals.stored[answer.new_card]
    assert f"{view.replicas} replicas" in answer.text
    assert view.cpu_request in answer.text and view.memory_request in answer.text
    assert "approve" in answer.text


def test_follow_ups_use_the_thread(memory: ThreadMemory) -> None:
    bot, proposals = planner(memory)
    card = bot.respond(SIZE, "U1", "C1", "2.0").new_card
    assert card is not None
    edited = bot.respond("make it 4 replicas", "U1", "C1", "2.0")
    assert edited.changed == card and proposals.stored[card].replicas == 4
    assert "revision 2" in edited.text
    why = bot.respond("why so much memory?", "U2", "C1", "2.0")
    assert "services use about" in why.text and "we reserve" in why.text
    assert "of CPU" not in why.text
    again = bot.respond("why is memory so high", "U2", "C1", "2.0")
    assert card in again.text and "allow up to" in again.text
    detail = bot.respond("why in detail", "U2", "C1", "2.0")
    assert "memory_limit:" in detail.text and "split-conformal" in detail.text
    status = bot.respond("status", "U1", "C1", "2.0")
    assert card in status.text and "proposed" in status.text
    # another thread knows nothing of it
    other = bot.respond("make it 4 replicas", "U1", "C1", "3.0")
    assert other.changed is None


def test_clarifying_question_then_answer(memory: ThreadMemory) -> None:
    bot, proposals = planner(memory)
    asked = bot.respond("size a FastAPI service `items-api` like `emailservice`", "U1", "C", "4")
    assert asked.tool_calls == () and "requests per second" in asked.text
    image = bot.respond("about 80 rps", "U1", "C", "4")
    assert "Which container image" in image.text and image.new_card is None
    done = bot.respond("ghcr.io/acme/items-api:2.0", "U1", "C", "4")
    assert done.new_card is not None
    assert proposals.calls == ["size items-api"]


def test_approve_is_never_a_tool(memory: ThreadMemory) -> None:
    bot, proposals = planner(memory)
    bot.respond(SIZE, "U1", "C", "5")
    answer = bot.respond("looks good, approve it", "U1", "C", "5")
    assert "Approve" in answer.text and answer.tool_calls == ()
    assert all(p.state == "proposed" for p in proposals.stored.values())


def test_memory_has_a_ttl(memory: ThreadMemory) -> None:
    bot, _ = planner(memory)
    bot.respond("help", "U1", "C", "6")
    ttl = memory._redis.ttl(memory.key("C", "6"))
    assert 0 < ttl <= memory.ttl_s
    assert [m.role for m in memory.load("C", "6").messages] == ["user", "assistant"]


def test_other_phrasings(memory: ThreadMemory) -> None:
    bot, _ = planner(memory)
    assert "I size Kubernetes workloads" in bot.respond("help", "U", "C", "7").text
    room = bot.respond("how much room is there on the nodes?", "U", "C", "7")
    assert room.tool_calls == ("cluster_capacity",) and "hv1" in room.text
    quota = bot.respond("quotas in team-a", "U", "C", "7")
    assert quota.tool_calls == ("namespace_quotas",) and "16Gi" in quota.text
    verify = bot.respond("verify items-api in team-a", "U", "C", "7")
    assert verify.tool_calls == ("verify_workload",) and "no samples" in verify.text
    unknown = bot.respond("why p-0000dead", "U", "C", "7")
    assert "no proposal" in unknown.text.lower() or "have no" in unknown.text
    bad = bot.respond("size `Bad_Name` at 80 rps", "U", "C", "8")
    assert "not a valid Kubernetes name" in bad.text and bad.new_card is None


def test_edit_phrases() -> None:
    assert edits("make it 4 replicas") == {"replicas": 4}
    assert edits("set memory limit to 1Gi and cpu 300m") == {
        "memory_limit": "1Gi",
        "cpu_request": "300m",
    }
    assert edits("memory 512") == {"memory_request": "512Mi"}
    assert edits("cpu limit none") == {"cpu_limit": "none"}


def test_a_framework_of_another_language_is_pointed_out_and_can_be_corrected(
    memory: ThreadMemory,
) -> None:
    bot, proposals = planner(memory)
    ask = "size `items-api` in python with rails, 80 rps, image ghcr.io/acme/items-api:1"
    answer = bot.respond(ask, "U1", "C", "9")
    assert answer.new_card is None and not proposals.stored
    assert "rails is a ruby framework, not python" in answer.text
    assert "the python frameworks Sizer knows are aiohttp, celery, django" in answer.text
    fixed = bot.respond("it's ruby", "U1", "C", "9")
    assert fixed.new_card is not None
    assert memory.load("C", "9").last_request is not None
    assert memory.load("C", "9").last_request.language == "ruby"  # type: ignore[union-attr]


def test_a_thread_stored_before_a_rule_was_added_still_loads(memory: ThreadMemory) -> None:
    bot, _ = planner(memory)
    bot.respond(SIZE, "U1", "C", "10")
    key = memory.key("C", "10")
    raw = json.loads(memory._redis.get(key) or b"{}")
    raw["last_request"]["framework"] = "rails"  # python + rails: refused when asked today
    memory._redis.set(key, json.dumps(raw))
    state = memory.load("C", "10")
    assert state.last_request is not None and state.last_request.framework == "rails"
    assert state.messages
