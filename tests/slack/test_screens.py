"""Every card state, as the service produces it, is valid Block Kit and renders to HTML."""

from __future__ import annotations

import json

from tests.emulators.slack_api import validate_blocks, validate_view
from tests.slack.blockkit_html import page
from tests.slack.states import STATES, card_states


def test_every_state_is_valid_and_renders() -> None:
    states = card_states()
    assert set(states) == set(STATES)
    for name, payload in states.items():
        if payload.get("type") in ("modal", "home"):
            assert validate_view(payload) == [], name
        else:
            assert validate_blocks(payload["blocks"], 50) == [], name
        html = page(payload)
        assert "<div" in html and "```" not in html and "&lt;@" not in html, name
    headers = {n: states[n]["blocks"][0]["text"]["text"] for n in STATES[:7]}
    assert headers["rolled-back"].startswith(":leftwards_arrow_with_hook: Rolled back")
    assert headers["expired"].startswith(":zzz: Expired")
    assert "`/sizer size search-api …`" in json.dumps(states["expired"], ensure_ascii=False)
    misfit = json.dumps(states["does-not-fit"], ensure_ascii=False)
    assert "sizer_approve" not in misfit and "Use 3 replicas" in misfit
    assert "calls for 58 replicas" in misfit
    rightsize = json.dumps(states["rightsize"], ensure_ascii=False)
    assert "sizer_approve" in rightsize and "revision 2" in rightsize
    assert "*Changes* to revision 1, which runs now: CPU request 46m → 120m" in rightsize
    assert "Memory request 26Mi → 90Mi" in rightsize and "sized from emailservice" not in rightsize
    rejected = json.dumps(states["rightsize-rejected"], ensure_ascii=False)
    assert "revision 1 stays applied" in rejected and "sizer_approve" not in rejected
    assert "“we expect a launch next week”" in rejected
    with_reason = states["rejected-with-reason"]["blocks"]
    assert with_reason[1]["text"] == {
        "type": "mrkdwn",
        "text": "*Rejected by <@UAPPROVER>:* “Load &amp; soak tests first: the &lt;2 s p99 "
        "target needs 3 replicas, see https://wiki.example/payments/launch”",
        "verbatim": True,
    }
    shown = page(states["rejected-with-reason"])
    assert "Load &amp; soak tests first: the &lt;2 s p99" in shown, "Slack shows & and <"
    form = json.dumps(states["reject-form"], ensure_ascii=False)
    assert '"callback_id": "sizer_reject_submit"' in form and '"max_length": 500' in form
    home = json.dumps(states["home"], ensure_ascii=False)
    assert "big-api" in home and "40 min ago" in home


def test_a_card_that_cannot_be_approved_says_so_in_its_header() -> None:
    states = card_states()
    title = {n: states[n]["blocks"][0]["text"]["text"] for n in ("does-not-fit", "waiting")}
    assert title["does-not-fit"].startswith(":no_entry: Does not fit")
    assert title["waiting"].startswith(":hourglass_flowing_sand: Waiting for approval")
