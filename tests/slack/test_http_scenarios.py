"""Whole conversations over signed HTTP requests against the emulator and real Redis."""

from __future__ import annotations

import json
import threading
import urllib.request
from pathlib import Path

from bot.approvals.models import ProposalState
from tests.approvals.doubles import RecordingExecutor
from tests.emulators import slack_requests as sr
from tests.slack.conftest import Bot, StartBot
from tests.slack.scenario import (
    button,
    card_update,
    ephemeral_to,
    eventually,
    is_card,
    posted_card,
    posted_card_without_approve,
    text_of,
)

S = ProposalState
ASK = "size items-api --language python --framework fastapi --rps 50-100 --namespace team-a"


def _ask(bot: Bot, user: str = "UREQUESTER", ts: str = "1700000000.000001") -> None:
    assert bot.sender is not None
    response = bot.sender.event(sr.event_callback(sr.mention(ASK, user, ts=ts)))
    assert response.status == 200 and response.seconds < 3


def _click(bot: Bot, action: str, value: str, user: str, message_ts: str) -> sr.Response:
    assert bot.sender is not None
    payload = sr.block_action(action, value, user, "C1", message_ts, "1700000000.000001")
    response = bot.sender.interactive(payload)
    assert response.status == 200 and response.seconds < 3
    return response


def test_ask_card_approve_applied(start_bot: StartBot) -> None:
    bot = start_bot()
    _ask(bot)
    call, ref, ts = posted_card(bot.emulator, "items-api", thread_ts="1700000000.000001")
    text = text_of(call)
    assert "team-a" in text and "Replicas" in text and "Confidence" in text
    assert "Waiting for approval" in call.params["blocks"][0]["text"]["text"]
    assert "kind: Deployment" not in text, "the manifest sits behind View manifest"
    eventually(lambda: bot.runtime.service.get(ref.proposal_id).message_ts == ts)
    stored = bot.runtime.service.get(ref.proposal_id)
    assert stored.state == S.PROPOSED
    assert f"manifest sha256 `{stored.current.change.manifest_sha256[:12]}`" in text

    _click(bot, "sizer_view_manifest", ref.encode(), "USTRANGER", ts)
    modal = bot.emulator.wait_for("views.open").params["view"]
    shown = json.dumps(modal)
    assert "kind: Deployment" in shown and stored.current.change.manifest_sha256 in shown
    assert "Deployment/team-a/items-api" in shown
    _click(bot, "sizer_view_plan", ref.encode(), "USTRANGER", ts)
    plan = bot.emulator.wait_for("views.open", lambda c: "Plan: 1 to add" in json.dumps(c.params))
    assert "Terraform plan" in json.dumps(plan.params)

    _click(bot, "sizer_approve", ref.encode(), "UAPPROVER", ts)
    update = card_update(bot.emulator, ts, "Applied")
    assert "<@UAPPROVER>" in text_of(update)
    assert "sizer_approve" not in str(update.params["blocks"])
    assert len(bot.executor.applied) == 1
    assert bot.executor.applied[0].change == stored.current.change
    assert bot.runtime.service.get(ref.proposal_id).state == S.APPLIED


def test_unauthorised_click_is_explained_and_audited(start_bot: StartBot) -> None:
    bot = start_bot()
    _ask(bot)
    _, ref, ts = posted_card(bot.emulator, "items-api")
    _click(bot, "sizer_approve", ref.encode(), "USTRANGER", ts)
    ephemeral_to(bot.emulator, "USTRANGER", "not an approver for namespace team-a")
    assert bot.executor.applied == []
    denied = [e for e in bot.runtime.service.workload_trail("items-api") if e.event == "denied"]
    assert [d.actor for d in denied] == ["USTRANGER"]
    assert bot.runtime.service.get(ref.proposal_id).state == S.PROPOSED


def test_requester_cannot_approve_own_change(start_bot: StartBot) -> None:
    bot = start_bot()
    _ask(bot, user="UAPPROVER")
    _, ref, ts = posted_card(bot.emulator, "items-api")
    _click(bot, "sizer_approve", ref.encode(), "UAPPROVER", ts)
    ephemeral_to(bot.emulator, "UAPPROVER", "other than the requester")
    assert bot.executor.applied == []


def test_user_group_member_approves(start_bot: StartBot) -> None:
    bot = start_bot()
    _ask(bot)
    _, ref, ts = posted_card(bot.emulator, "items-api")
    _click(bot, "sizer_approve", ref.encode(), "UGROUPMEMBER", ts)
    card_update(bot.emulator, ts, "Applied")
    assert bot.emulator.calls_of("usergroups.users.list")


def test_double_click_applies_once(start_bot: StartBot) -> None:
    executor_bot = start_bot()
    bot = executor_bot
    _ask(bot)
    _, ref, ts = posted_card(bot.emulator, "items-api")
    threads = [
        threading.Thread(target=_click, args=(bot, "sizer_approve", ref.encode(), "UAPPROVER", ts))
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    card_update(bot.emulator, ts, "Applied")
    ephemeral_to(bot.emulator, "UAPPROVER", "already")
    assert len(bot.executor.applied) == 1


def test_slack_retry_of_an_event_is_answered_once(start_bot: StartBot) -> None:
    bot = start_bot()
    assert bot.sender is not None
    body = sr.event_callback(sr.mention(ASK, "UREQUESTER"), event_id="EvRETRY1")
    assert bot.sender.event(body).status == 200
    assert bot.sender.event(body, retry_num=1).status == 200
    assert bot.sender.event(body, retry_num=2).status == 200
    posted_card(bot.emulator, "items-api")
    bot.runtime.pool.shutdown(wait=True)
    assert len(bot.executor.prepared) == 1
    assert bot.emulator.count("chat.postMessage", lambda c: is_card(c)) == 1


def test_two_instances_sharing_redis_race_one_click(start_bot: StartBot) -> None:
    first = start_bot()
    second = start_bot(executor=first.executor)
    _ask(first)
    _, ref, ts = posted_card(first.emulator, "items-api")
    barrier = threading.Barrier(2)

    def click(bot: Bot) -> None:
        barrier.wait()
        _click(bot, "sizer_approve", ref.encode(), "UAPPROVER", ts)

    threads = [threading.Thread(target=click, args=(b,)) for b in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    card_update(first.emulator, ts, "Applied")
    ephemeral_to(first.emulator, "UAPPROVER", "already")
    assert len(first.executor.applied) == 1


def _edit_values(**changes: str) -> dict[str, str]:
    values = {
        "replicas": "3",
        "cpu_request": "100m",
        "cpu_limit": "",
        "memory_request": "128Mi",
        "memory_limit": "256Mi",
    }
    values.update(changes)
    return values


def test_edit_via_modal_with_bad_then_good_values(start_bot: StartBot) -> None:
    bot = start_bot()
    assert bot.sender is not None
    _ask(bot)
    _, ref, ts = posted_card(bot.emulator, "items-api")
    _click(bot, "sizer_edit", ref.encode(), "UREQUESTER", ts)
    opened = bot.emulator.wait_for("views.open")
    view = opened.params["view"]
    assert view["callback_id"] == "sizer_edit_submit"

    bad = bot.sender.interactive(
        sr.view_submission(
            view, _edit_values(replicas="0", cpu_request="abc", memory_limit="64Mi"), "UREQUESTER"
        )
    )
    assert bad.status == 200
    errors = bad.json()["errors"]
    assert bad.json()["response_action"] == "errors"
    assert "whole number from 1" in errors["replicas"]
    assert "not a Kubernetes quantity" in errors["cpu_request"]
    assert "at least the request" in errors["memory_limit"]
    over = bot.sender.interactive(
        sr.view_submission(view, _edit_values(replicas="11"), "UREQUESTER")
    )
    assert "at most 10 replicas" in over.json()["errors"]["replicas"]
    assert bot.runtime.service.get(ref.proposal_id).revision == 1

    good = bot.sender.interactive(sr.view_submission(view, _edit_values(), "UREQUESTER"))
    assert good.status == 200 and good.body == ""
    update = card_update(bot.emulator, ts, "revision 2")
    assert "replicas 2 → 3" in text_of(update)
    assert bot.emulator.wait_for(
        "chat.postMessage", lambda c: "Revision 2: edited by <@UREQUESTER>" in text_of(c)
    )
    entries = [
        e for e in bot.runtime.service.workload_trail("items-api") if e.event == "transition"
    ]
    assert [(e.revision, e.to_state) for e in entries] == [(1, "proposed"), (2, "proposed")]


def test_two_people_editing_at_once_one_saves_the_other_is_told_in_the_modal(
    start_bot: StartBot, tmp_path: Path
) -> None:
    executor = RecordingExecutor(plan_dir=tmp_path)
    bot = start_bot(executor=executor)
    assert bot.sender is not None
    _ask(bot)
    _, ref, ts = posted_card(bot.emulator, "items-api")
    for user in ("UREQUESTER", "UAPPROVER"):
        _click(bot, "sizer_edit", ref.encode(), user, ts)
    eventually(lambda: len(bot.emulator.calls_of("views.open")) == 2)
    opened = [c.params["view"] for c in bot.emulator.calls_of("views.open")]
    assert len(opened) == 2
    barrier = threading.Barrier(2)
    answers: dict[str, sr.Response] = {}

    def submit(user: str, view: dict[str, object], replicas: str) -> None:
        assert bot.sender is not None
        barrier.wait()
        body = sr.view_submission(view, _edit_values(replicas=replicas), user)
        answers[user] = bot.sender.interactive(body)

    threads = [
        threading.Thread(target=submit, args=("UREQUESTER", opened[0], "3")),
        threading.Thread(target=submit, args=("UAPPROVER", opened[1], "4")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    saved = [u for u, r in answers.items() if r.body == ""]
    refused = [u for u, r in answers.items() if r.body != ""]
    assert len(saved) == 1 and len(refused) == 1, {u: r.body for u, r in answers.items()}
    winner = {"UREQUESTER": "rui", "UAPPROVER": "ana"}[saved[0]]
    error = answers[refused[0]].json()["errors"]["replicas"]
    assert error == f"@{winner} is saving revision 2 while you were editing; reopen Edit"

    eventually(lambda: bot.runtime.service.get(ref.proposal_id).revision == 2)
    late = bot.sender.interactive(
        sr.view_submission(opened[1], _edit_values(replicas="5"), "UAPPROVER")
    )
    assert late.json()["errors"]["replicas"] == (
        f"@{winner} saved revision 2 while you were editing; reopen Edit"
    )
    assert len(executor.prepared) == 2, "the refused edits never planned anything"
    stored = bot.runtime.service.get(ref.proposal_id)
    assert stored.revision == 2 and stored.current.author == saved[0]

    # The approver approves exactly the revision the updated card shows, plan hash intact.
    approver = "UGROUPMEMBER" if saved[0] == "UAPPROVER" else "UAPPROVER"
    _click(bot, "sizer_approve", stored.card_ref().encode(), approver, ts)
    card_update(bot.emulator, ts, "Applied")
    assert executor.applied[0].revision == 2
    assert executor.applied[0].change.plan_sha256 == stored.current.change.plan_sha256


def test_a_proposal_that_does_not_fit_offers_the_nearest_size_and_only_then_approve(
    start_bot: StartBot,
) -> None:
    executor = RecordingExecutor()
    executor.fits_replicas = 1
    bot = start_bot(executor=executor)
    _ask(bot)
    call, _, ts = posted_card_without_approve(bot.emulator, "items-api")
    fit = button(call, "sizer_fit")
    assert fit is not None and button(call, "sizer_approve") is None
    assert "cannot be approved as is" in text_of(call)
    # A crafted Approve on the misfit revision is refused by the service too.
    _click(bot, "sizer_approve", fit, "UAPPROVER", ts)
    ephemeral_to(bot.emulator, "UAPPROVER", "does not fit the cluster")
    _click(bot, "sizer_fit", fit, "UREQUESTER", ts)
    update = card_update(bot.emulator, ts, "nearest size that fits")
    assert button(update, "sizer_approve") is not None
    assert "*Replicas*\n1" in text_of(update)
    assert executor.applied == []


def test_stale_card_is_refused_with_a_clear_message(start_bot: StartBot) -> None:
    bot = start_bot()
    _ask(bot)
    _, ref, ts = posted_card(bot.emulator, "items-api")
    bot.runtime.service.edit(ref, "UREQUESTER", _edit_values())
    _click(bot, "sizer_approve", ref.encode(), "UAPPROVER", ts)
    ephemeral_to(bot.emulator, "UAPPROVER", "edited since (now revision 2); use the newest card")
    assert bot.executor.applied == []


def test_expired_card_is_refused(start_bot: StartBot) -> None:
    bot = start_bot()
    _ask(bot)
    _, ref, ts = posted_card(bot.emulator, "items-api")
    bot.clock.now += 86_401
    _click(bot, "sizer_approve", ref.encode(), "UAPPROVER", ts)
    ephemeral_to(bot.emulator, "UAPPROVER", "expired; ask again")
    card_update(bot.emulator, ts, "Expired")
    assert bot.executor.applied == []


def test_expiry_sweep_updates_the_card(start_bot: StartBot) -> None:
    bot = start_bot()
    _ask(bot)
    _, ref, ts = posted_card(bot.emulator, "items-api")
    eventually(lambda: bot.runtime.service.get(ref.proposal_id).message_ts is not None)
    bot.clock.now += 86_401
    bot.runtime.sweep()
    card_update(bot.emulator, ts, "Expired")


def test_ack_is_fast_while_the_apply_runs(start_bot: StartBot) -> None:
    bot = start_bot()
    bot.executor.gate = threading.Event()
    _ask(bot)
    _, ref, ts = posted_card(bot.emulator, "items-api")
    try:
        response = _click(bot, "sizer_approve", ref.encode(), "UAPPROVER", ts)
        assert response.seconds < 1
        assert bot.executor.started.wait(5)
        card_update(bot.emulator, ts, "Applying")
        bot.emulator.wait_for("chat.update", lambda c: "applying items-api" in text_of(c))
    finally:
        bot.executor.gate.set()
    card_update(bot.emulator, ts, "Applied")


def test_bad_signature_and_old_timestamp_are_rejected(start_bot: StartBot) -> None:
    bot = start_bot()
    assert bot.sender is not None
    body = sr.event_callback(sr.mention(ASK, "UREQUESTER"))
    assert bot.sender.event(body, signature="v0=" + "0" * 64).status == 401
    assert bot.sender.event(body, timestamp=1_600_000_000).status == 401
    bot.runtime.pool.shutdown(wait=True)
    assert bot.executor.prepared == []


def test_slash_command_sizes_in_a_thread(start_bot: StartBot) -> None:
    bot = start_bot()
    assert bot.sender is not None
    response = bot.sender.command(sr.slash(ASK, "UREQUESTER"))
    assert response.status == 200 and response.seconds < 3
    root = bot.emulator.wait_for("chat.postMessage", lambda c: "asked: `/sizer size" in text_of(c))
    posted_card(bot.emulator, "items-api", thread_ts=str(root.response["ts"]))


def test_slash_command_bad_input_says_what_to_fix(start_bot: StartBot) -> None:
    bot = start_bot()
    assert bot.sender is not None
    cases = {
        "size Items_API --rps 5": "not a valid Kubernetes name",
        "size items-api --rps abc": "a number (80) or a range (50-100)",
        "size items-api --rps 5 --language cobol": "use one of: go, java, python",
        "size items-api": "--rps is required",
        "help": "`why WORKLOAD`",
        "status": "exactly one argument",
    }
    for text, expected in cases.items():
        response = bot.sender.command(sr.slash(text, "UREQUESTER"))
        assert response.status == 200
        assert expected in response.json()["text"], text
        assert "Traceback" not in response.body
    bot.runtime.pool.shutdown(wait=True)
    assert bot.executor.prepared == []
    assert bot.emulator.calls_of("chat.postMessage") == []


def test_direct_messages_use_the_grammar_or_answer_help(start_bot: StartBot) -> None:
    bot = start_bot()
    assert bot.sender is not None
    bot.sender.event(sr.event_callback(sr.direct_message("hello there", "UREQUESTER")))
    bot.emulator.wait_for(
        "chat.postMessage",
        lambda c: "`why WORKLOAD`" in text_of(c) and c.params.get("thread_ts") == "1700000001.1",
    )
    bot.sender.event(
        sr.event_callback(sr.direct_message("size x --rps 1-", "UREQUESTER", ts="1700000001.2"))
    )
    ephemeral_to(bot.emulator, "UREQUESTER", "a number (80) or a range (50-100)")
    bot.sender.event(sr.event_callback(sr.direct_message(ASK, "UREQUESTER", ts="1700000001.3")))
    posted_card(bot.emulator, "items-api", thread_ts="1700000001.3")


def test_unknown_namespace_cannot_be_approved_but_is_answered(start_bot: StartBot) -> None:
    bot = start_bot()
    assert bot.sender is not None
    bot.sender.event(
        sr.event_callback(sr.mention("size svc --rps 5 --namespace other", "UREQUESTER"))
    )
    _, ref, ts = posted_card(bot.emulator, "svc")
    _click(bot, "sizer_approve", ref.encode(), "UAPPROVER", ts)
    ephemeral_to(bot.emulator, "UAPPROVER", "namespace other has no approvers")


def test_why_answers_from_stored_reasons_with_a_chart(start_bot: StartBot) -> None:
    bot = start_bot()
    assert bot.sender is not None
    _ask(bot)
    _, ref, ts = posted_card(bot.emulator, "items-api")
    _click(bot, "sizer_approve", ref.encode(), "UAPPROVER", ts)
    card_update(bot.emulator, ts, "Applied")
    bot.sender.event(
        sr.event_callback(sr.mention("why items-api --detail", "UOTHER", ts="1700000009.1"))
    )
    answer = bot.emulator.wait_for(
        "chat.postMessage", lambda c: "Why `team-a/items-api`" in text_of(c)
    )
    stored = bot.runtime.service.get(ref.proposal_id)
    for reason in stored.reasons:
        assert reason.text in text_of(answer)
    assert "applied proposal" in text_of(answer)
    bot.emulator.wait_for("files.completeUploadExternal")
    assert any(data.startswith(b"\x89PNG") for data in bot.emulator.uploads.values())


def test_status_and_app_home(start_bot: StartBot) -> None:
    bot = start_bot()
    assert bot.sender is not None
    _ask(bot)
    _, ref, _ts = posted_card(bot.emulator, "items-api")
    bot.sender.command(sr.slash(f"status {ref.proposal_id}", "UREQUESTER"))
    status = bot.emulator.wait_for(
        "chat.postMessage", lambda c: f"*`{ref.proposal_id}`*" in text_of(c)
    )
    assert "Waiting for approval" in text_of(status)
    eventually(lambda: bot.runtime.service.get(ref.proposal_id).message_ts is not None)
    stored = bot.runtime.service.get(ref.proposal_id)
    link = f"https://test.slack.com/archives/C1/p{stored.message_ts.replace('.', '')}"

    bot.sender.event(sr.event_callback(sr.home_opened("UREQUESTER")))
    mine = bot.emulator.wait_for("views.publish", lambda c: c.params["user_id"] == "UREQUESTER")
    text = json.dumps(mine.params["view"])
    assert "Nothing waits on you" in text, "the requester may not approve it"
    assert f"<{link}|items-api>" in text and "just now" in text
    assert "EST" in text or "EDT" in text, "times are in the viewer's own zone"

    bot.sender.event(sr.event_callback(sr.home_opened("UAPPROVER")))
    theirs = bot.emulator.wait_for("views.publish", lambda c: c.params["user_id"] == "UAPPROVER")
    waiting = theirs.params["view"]["blocks"][1]["text"]["text"]
    assert f"<{link}|items-api>" in waiting and "asked by <@UREQUESTER> just now" in waiting
    assert "CET" in waiting or "CEST" in waiting, "times are in the approver's own zone"


def test_rate_limited_calls_are_retried_after_retry_after(start_bot: StartBot) -> None:
    bot = start_bot()
    bot.emulator.inject_429("chat.postMessage", times=2, retry_after=0)
    _ask(bot)
    posted_card(bot.emulator, "items-api")
    limited = [c for c in bot.emulator.calls if c.status == 429]
    assert len(limited) == 2


def test_interrupted_apply_is_reported_at_start_and_resolved(start_bot: StartBot) -> None:
    first = start_bot()
    first.executor.gate = threading.Event()
    _ask(first)
    _, ref, ts = posted_card(first.emulator, "items-api")
    _click(first, "sizer_approve", ref.encode(), "UAPPROVER", ts)
    assert first.executor.started.wait(5)
    # The process dies mid-apply: its lock is no longer renewed and lapses.
    service = first.runtime.service
    proposal = service.get(ref.proposal_id)
    assert proposal.state == S.APPLYING
    first.redis.delete(f"{first.prefix}lock:team-a/items-api")
    second = start_bot()
    report = second.emulator.wait_for(
        "chat.postMessage", lambda c: "I restarted while" in text_of(c)
    )
    assert report.params.get("thread_ts") == "1700000000.000001"
    assert second.sender is not None
    second.sender.command(
        sr.slash(f"resolve {ref.proposal_id} failed pods never started", "UAPPROVER")
    )
    second.emulator.wait_for("chat.postMessage", lambda c: "resolved as failed" in text_of(c))
    card_update(second.emulator, ts, "Failed")
    first.executor.gate.set()


def test_url_verification_and_health(start_bot: StartBot) -> None:
    bot = start_bot()
    assert bot.sender is not None
    response = bot.sender.event({"type": "url_verification", "challenge": "c-123", "token": "t"})
    assert response.status == 200 and "c-123" in response.body
    health = urllib.request.urlopen(f"http://127.0.0.1:{bot.runtime.port}/healthz", timeout=5)
    assert health.status == 200


def test_slash_status_of_an_unknown_proposal_is_private_and_posts_nothing(
    start_bot: StartBot,
) -> None:
    bot = start_bot()
    assert bot.sender is not None
    assert bot.sender.command(sr.slash("status p-00000000", "UREQUESTER")).status == 200
    call = ephemeral_to(bot.emulator, "UREQUESTER", "no proposal 'p-00000000'")
    assert call.params.get("thread_ts") is None
    assert bot.emulator.calls_of("chat.postMessage") == []


def test_progress_line_is_closed_when_the_card_arrives(start_bot: StartBot) -> None:
    bot = start_bot()
    _ask(bot)
    posted_card(bot.emulator, "items-api")
    bot.emulator.wait_for("chat.update", lambda c: ":white_check_mark: Done." in text_of(c))


def test_group_lookup_failure_refuses(start_bot: StartBot) -> None:
    bot = start_bot()
    bot.emulator.inject_429("usergroups.users.list", times=10, retry_after=0)
    _ask(bot)
    _, ref, ts = posted_card(bot.emulator, "items-api")
    _click(bot, "sizer_approve", ref.encode(), "UGROUPMEMBER", ts)
    ephemeral_to(bot.emulator, "UGROUPMEMBER", "not an approver", timeout=20)
    assert bot.executor.applied == []
