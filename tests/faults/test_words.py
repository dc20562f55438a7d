"""The model's words never claim state; progress is throttled and ends with what happened."""

from __future__ import annotations

from bot.agent.answer import Answer
from bot.agent_adapter import CLAIM_NOTE, AgentResponder
from bot.approvals.models import ProposalState
from bot.slack.claims import scrub_claims
from bot.slack.progress import StepBoard
from tests.approvals.doubles import RecordingExecutor, make_service
from tests.faults.test_outcome import _request

S = ProposalState


class SaysItApplied:
    def __init__(self, changed: str | None = None) -> None:
        self.changed = changed

    def respond(self, text: str, user: str, channel: str, thread_ts: str) -> Answer:
        return Answer(text="Done — I approved and applied it.", changed=self.changed)


def test_claims_are_cut_and_ordinary_sentences_kept() -> None:
    for claim in (
        "Done — I approved and applied it.",
        "The change has been applied to team-a.",
        "It is live now!",
        "I have gone ahead and deployed it.",
    ):
        assert scrub_claims(claim) == ("", True), claim
    fine = "Here is the proposal for items-api. An approver can apply it from the card."
    assert scrub_claims(fine) == (fine, False)


def test_a_model_claiming_an_apply_is_flagged_and_the_state_comes_from_the_store(
    rp: tuple[object, str],
) -> None:
    client, prefix = rp
    service = make_service(client, prefix, RecordingExecutor())  # type: ignore[arg-type]
    made = service.size(_request(), "UREQUESTER")
    reply = AgentResponder(SaysItApplied(made.id), service).respond(  # type: ignore[arg-type]
        "approve it", "UREQUESTER", "C1", "1.1", lambda _: None
    )
    assert "I approved and applied" not in reply.text
    assert CLAIM_NOTE in reply.text and "Waiting for approval" in reply.text
    assert service.get(made.id).state == S.PROPOSED


def test_step_lines_become_a_readable_checklist() -> None:
    board = StepBoard()
    board.title = ":gear: applying…"
    for line in (
        "render: started",
        "render: ok — re-rendered; sha256 abc matches what was shown",
        "rollout: started",
        "rollout: Deployment/team-a/items-api 1/3 ready, 1 updated",
    ):
        board.add(line)
    text = board.render()
    assert ":white_check_mark: Check the manifest is exactly what the card showed" in text
    assert "Wait for the rollout — Deployment/team-a/items-api 1/3 ready" in text
    assert "render:" not in text
