from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis as redis_lib

from bot.agent.planner import Planner
from bot.agent.ports import NotFoundError, Refused
from bot.agent.toolsets import Capabilities, Toolset
from bot.agent_adapter import AgentResponder, ServiceProposals
from tests.agent.doubles import bundled
from tests.approvals.doubles import ACCESS, RecordingExecutor, make_service, redis_prefix
from tools.propose import SizeRequest
from tools.sizing.models import Policy


@pytest.fixture
def rp() -> Iterator[tuple[redis_lib.Redis, str]]:
    with redis_prefix() as pair:
        yield pair


def test_the_port_over_the_real_service(rp: tuple[redis_lib.Redis, str]) -> None:
    service = make_service(*rp, RecordingExecutor())
    port = ServiceProposals(service)
    made = port.size(
        SizeRequest(name="items-api", namespace="team-a", rps_low=50, rps_high=100),
        "UREQUESTER",
        "C1",
        "1.0",
    )
    assert made.state == "proposed" and made.manifest_yaml.startswith("kind: Deployment")
    assert port.why("team-a/items-api").id == made.id
    edited = port.edit(made.id, "UREQUESTER", {"replicas": "4"})
    assert edited.revision == 2 and edited.replicas == 4
    assert edited.cpu_request == made.cpu_request
    status = port.get(made.id)
    assert len(status.trail) == 2 and "UREQUESTER" in status.trail[-1]
    with pytest.raises(Refused, match="replicas"):
        port.edit(made.id, "UREQUESTER", {"replicas": "11"})  # team-a allows 10
    with pytest.raises(Refused, match="only the requester or an approver"):
        port.edit(made.id, "USTRANGER", {"replicas": "3"})
    with pytest.raises(NotFoundError):
        port.get("p-00000000")


def test_slack_reply_carries_the_card(rp: tuple[redis_lib.Redis, str]) -> None:
    service = make_service(*rp, RecordingExecutor())
    caps = Capabilities(catalog=bundled, policy=Policy(), proposals=ServiceProposals(service))
    responder = AgentResponder(Planner(Toolset(caps)), service)
    reply = responder.respond(
        "size `items-api` in namespace team-a, 50-100 rps, image ghcr.io/acme/items-api:1.0",
        "UREQUESTER",
        "C1",
        "1.0",
        print,
    )
    assert reply.new_card is not None and reply.blocks is not None
    # The card is the whole message: nothing above it restates its numbers.
    assert reply.blocks[0]["type"] == "header" and "Waiting for approval" in reply.text
    assert any(b.get("type") == "actions" for b in reply.blocks)
    plain = responder.respond("help", "U", "C1", "1.0", print)
    assert plain.new_card is None and plain.blocks is None


def test_responder_from_settings(
    rp: tuple[redis_lib.Redis, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.agent.planner import Planner as PlannerType
    from bot.settings import Settings
    from bot.wiring import Components

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    settings = Settings.load(SIZER_REDIS_PREFIX=rp[1])
    parts = Components(settings, redis=rp[0], access=ACCESS, executor=RecordingExecutor())
    responder = parts.agent_responder()
    assert isinstance(responder._agent, PlannerType)  # no LLM configured
    first = responder.respond("size `items-api` in namespace team-a", "U", "C", "1.0", print)
    assert "requests per second" in first.text
    asked = responder.respond("50-100 rps", "UREQUESTER", "C", "1.0", print)
    assert "Which container image" in asked.text
    second = responder.respond("no image yet", "UREQUESTER", "C", "1.0", print)
    assert second.new_card is not None and second.new_card.workload == "items-api"
