"""Reject through its form over signed HTTP (Slack emulator, real Redis): the reason reaches the
card escaped, the audit trail and the store; access, staleness and exactly-once still hold."""

from __future__ import annotations

import json
import threading

from bot.approvals.models import ProposalState
from bot.slack import blocks
from tests.emulators import slack_requests as sr
from tests.slack.conftest import Bot, StartBot
from tests.slack.scenario import card_update, ephemeral_to, eventually, posted_card, text_of

S = ProposalState
ASK = "size items-api --language python --framework fastapi --rps 50-100 --namespace team-a"
THREAD = "1700000000.000001"
HOSTILE = "launch & load test next week <!channel> <@UAPPROVER> <https://evil.example|the plan>"


def _card(bot: Bot, user: str = "UREQUESTER") -> tuple[str, str]:
    """Ask for a card; (its CardRef value, its message ts) once the store knows where it is."""
    assert bot.sender is not None
    bot.sender.event(sr.event_callback(sr.mention(ASK, user, ts=THREAD)))
    _, ref, ts = posted_card(bot.emulator, "items-api", thread_ts=THREAD)
    eventually(lambda: bot.runtime.service.get(ref.proposal_id).message_ts == ts)
    return ref.encode(), ts


def _click_reject(bot: Bot, value: str, user: str, ts: str) -> None:
    assert bot.sender is not None
    payload = sr.block_action("sizer_reject", value, user, "C1", ts, THREAD)
    response = bot.sender.interactive(payload)
    assert response.status == 200 and response.seconds < 3


def _form(bot: Bot, count: int = 1) -> dict[str, object]:
    """The newest Reject form the bot opened (after ``count`` forms in all)."""
    eventually(lambda: len(_forms(bot)) >= count)
    return _forms(bot)[count - 1]


def _forms(bot: Bot) -> list[dict[str, object]]:
    return [
        c.params["view"]
        for c in bot.emulator.calls_of("views.open")
        if c.params["view"].get("callback_id") == blocks.REJECT_VIEW
    ]


def _submit(
    bot: Bot, view: dict[str, object], reason: str, user: str, view_id: str = "V1"
) -> sr.Response:
    assert bot.sender is not None
    body = sr.view_submission(view, {blocks.REASON: reason}, user, view_id=view_id)
    return bot.sender.interactive(body)


def _pid(value: str) -> str:
    return str(json.loads(value)["p"])


def test_reject_asks_for_a_reason_and_the_card_shows_it_escaped(start_bot: StartBot) -> None:
    bot = start_bot()
    value, ts = _card(bot)
    pid = _pid(value)
    _click_reject(bot, value, "UAPPROVER", ts)
    form = _form(bot)
    shown = json.dumps(form)
    assert "Reject revision 1 of `team-a/items-api`?" in shown and "cannot be approved" in shown
    element = form["blocks"][1]["element"]  # type: ignore[index]
    assert element["max_length"] == 500 and element["multiline"] is True
    assert bot.runtime.service.get(pid).state == S.PROPOSED, "the click alone rejects nothing"

    answer = _submit(bot, form, f"  {HOSTILE}\n\n keep the size  ", "UAPPROVER")
    assert answer.status == 200 and answer.body == ""  # the form closes
    update = card_update(bot.emulator, ts, "Rejected")
    payload = json.dumps(update.params, ensure_ascii=False)
    line = next(
        b["text"]
        for b in update.params["blocks"]
        if b["type"] == "section" and "Rejected by" in b.get("text", {}).get("text", "")
    )
    assert line["verbatim"] is True
    assert line["text"] == (
        "*Rejected by <@UAPPROVER>:* “launch &amp; load test next week &lt;!channel&gt; "
        "&lt;@UAPPROVER&gt; &lt;https://evil.example|the plan&gt; keep the size”"
    )
    for live in ("<!channel>", "<https://evil", "<@UAPPROVER> <"):
        assert live not in payload, live
    assert "sizer_approve" not in payload and "sizer_reject" not in payload
    assert bot.executor.applied == []

    stored = bot.runtime.service.get(pid)
    assert stored.state == S.REJECTED and stored.updated_by == "UAPPROVER"
    assert stored.rejection_reason == f"{HOSTILE} keep the size"
    moves = [e for e in bot.runtime.service.trail(pid) if e.to_state == "rejected"]
    assert [(e.actor, e.reason) for e in moves] == [
        ("UAPPROVER", f"rejected: {HOSTILE} keep the size")
    ]
    # `/sizer status` quotes the trail: the typed reason stays inert there too
    status = json.dumps(blocks.status_blocks(stored, bot.runtime.service.trail(pid)))
    assert "&lt;!channel&gt;" in status and "<!channel>" not in status
    assert "by <@UAPPROVER>" in status


def test_a_reason_over_500_characters_is_refused_in_the_form(start_bot: StartBot) -> None:
    bot = start_bot()
    value, ts = _card(bot)
    _click_reject(bot, value, "UREQUESTER", ts)  # the requester may withdraw their own
    form = _form(bot)
    long = _submit(bot, form, "x" * 501, "UREQUESTER")
    assert long.json()["response_action"] == "errors"
    assert long.json()["errors"] == {
        "reason": "the reason is too long: at most 500 characters; this one has 501, "
        "shorten it by 1"
    }
    assert bot.runtime.service.get(_pid(value)).state == S.PROPOSED

    # the same form, fixed, goes through; an empty reason is fine too
    fixed = _submit(bot, form, "x" * 500, "UREQUESTER")
    assert fixed.body == ""
    card_update(bot.emulator, ts, "x" * 500)
    assert bot.runtime.service.get(_pid(value)).rejection_reason == "x" * 500


def test_without_a_reason_the_card_says_who_rejected_it(start_bot: StartBot) -> None:
    bot = start_bot()
    value, ts = _card(bot)
    _click_reject(bot, value, "UGROUPMEMBER", ts)
    assert _submit(bot, _form(bot), "   ", "UGROUPMEMBER").body == ""
    update = card_update(bot.emulator, ts, "Rejected by <@UGROUPMEMBER>")
    assert "“" not in text_of(update)
    stored = bot.runtime.service.get(_pid(value))
    assert stored.state == S.REJECTED and stored.rejection_reason is None
    assert bot.runtime.service.trail(stored.id)[-1].reason == "rejected"


def test_double_submits_and_a_repeated_delivery_reject_once(start_bot: StartBot) -> None:
    bot = start_bot()
    value, ts = _card(bot)
    _click_reject(bot, value, "UAPPROVER", ts)
    _click_reject(bot, value, "UAPPROVER", ts)  # a double click: two forms
    first, second = _form(bot, 1), _form(bot, 2)
    barrier = threading.Barrier(3)
    answers: list[sr.Response] = []

    def submit(view: dict[str, object], reason: str, view_id: str) -> None:
        barrier.wait()
        answers.append(_submit(bot, view, reason, "UAPPROVER", view_id))

    threads = [
        threading.Thread(target=submit, args=(first, "too big", "VFIRST")),
        threading.Thread(target=submit, args=(first, "too big", "VFIRST")),  # delivered twice
        threading.Thread(target=submit, args=(second, "other words", "VSECOND")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [a.status for a in answers] == [200, 200, 200]
    card_update(bot.emulator, ts, "Rejected by <@UAPPROVER>")
    bot.runtime.pool.shutdown(wait=True)
    trail = bot.runtime.service.trail(_pid(value))
    assert [e.to_state for e in trail if e.event == "transition"] == ["proposed", "rejected"]
    kept = bot.runtime.service.get(_pid(value)).rejection_reason
    assert kept in ("too big", "other words")
    # the losing form is told (already rejected, or beaten in the same instant); the
    # repeated delivery of a form is dropped silently: one refusal in all
    told = [c.params["text"] for c in bot.emulator.calls_of("chat.postEphemeral")]
    assert len(told) == 1, told
    assert "is already rejected (by <@UAPPROVER>)" in told[0] or (
        "changed at the same moment (now rejected" in told[0]
    )


def test_who_may_not_reject_is_told_and_audited(start_bot: StartBot) -> None:
    bot = start_bot()
    value, ts = _card(bot)
    _click_reject(bot, value, "USTRANGER", ts)
    ephemeral_to(bot.emulator, "USTRANGER", "only the requester or an approver may reject")
    assert _forms(bot) == [], "no form for someone who may not reject"
    # a form opened by an approver and submitted by someone else is refused by the service
    _click_reject(bot, value, "UAPPROVER", ts)
    assert _submit(bot, _form(bot), "no", "USTRANGER").body == ""
    eventually(
        lambda: (
            bot.emulator.count("chat.postEphemeral", lambda c: c.params["user"] == "USTRANGER") == 2
        )
    )
    pid = _pid(value)
    assert bot.runtime.service.get(pid).state == S.PROPOSED
    denied = [e for e in bot.runtime.service.trail(pid) if e.event == "denied"]
    assert [(d.actor, d.reason.split(":")[0]) for d in denied] == [
        ("USTRANGER", "reject refused"),
        ("USTRANGER", "reject refused"),
    ]


def test_a_stale_card_is_answered_privately_with_what_happened(start_bot: StartBot) -> None:
    bot = start_bot()
    value, ts = _card(bot)
    # the form is open when someone else approves the same revision
    _click_reject(bot, value, "UREQUESTER", ts)
    form = _form(bot)
    assert bot.sender is not None
    approve = sr.block_action("sizer_approve", value, "UAPPROVER", "C1", ts, THREAD)
    bot.sender.interactive(approve)
    card_update(bot.emulator, ts, "Applied")
    assert _submit(bot, form, "changed my mind", "UREQUESTER").body == ""
    ephemeral_to(bot.emulator, "UREQUESTER", "is already applied (by <@UAPPROVER>)")
    # and a Reject click on the old card says the same, opening no form
    _click_reject(bot, value, "UREQUESTER", ts)
    eventually(
        lambda: (
            bot.emulator.count(
                "chat.postEphemeral", lambda c: "already applied" in c.params["text"]
            )
            == 2
        )
    )
    assert len(_forms(bot)) == 1
    stored = bot.runtime.service.get(_pid(value))
    assert stored.state == S.APPLIED and stored.rejection_reason is None
    moves = [e.to_state for e in bot.runtime.service.trail(stored.id) if e.event == "transition"]
    assert moves == ["proposed", "approved", "applying", "applied"]


def test_a_damaged_form_is_answered_in_the_form(start_bot: StartBot) -> None:
    bot = start_bot()
    value, ts = _card(bot)
    _click_reject(bot, value, "UAPPROVER", ts)
    form = dict(_form(bot))
    form["private_metadata"] = '{"ref": {"p": "p-1"}, "c": "C1\\n"}'
    answer = _submit(bot, form, "x", "UAPPROVER")
    assert answer.json()["errors"] == {
        "reason": "this form is damaged; close it and click Reject again"
    }
    assert bot.runtime.service.get(_pid(value)).state == S.PROPOSED
