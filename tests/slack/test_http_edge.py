"""The HTTP edge under malformed requests and bursts: a status code, never a dropped socket."""

from __future__ import annotations

import http.client
import json
import logging
import select
import socket
import time

import pytest

from bot.slack.http import SlackHTTPServer
from tests.emulators import slack_requests as sr
from tests.slack.conftest import Bot, StartBot
from tests.slack.scenario import ephemeral_to, posted_card

ASK = "size items-api --language python --framework fastapi --rps 50-100 --namespace team-a"


def _raw(bot: Bot, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    """One POST with exactly these headers and body; (status, body) or an OSError."""
    connection = http.client.HTTPConnection("127.0.0.1", bot.runtime.port, timeout=10)
    try:
        connection.putrequest("POST", "/slack/events")
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def _signed(bot: Bot, body: str, content_type: str, stamp: str | None = None) -> dict[str, str]:
    assert bot.sender is not None
    stamp = stamp or str(int(time.time()))
    return {
        "Content-Type": content_type,
        "Content-Length": str(len(body.encode())),
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": bot.sender.sign(stamp, body),
    }


@pytest.mark.parametrize("stamp", ["soon", "", "1e9", "1700000000.5", "-1", "9" * 5000])
def test_a_timestamp_that_is_not_a_number_is_401(start_bot: StartBot, stamp: str) -> None:
    bot = start_bot()
    body = json.dumps(sr.event_callback(sr.mention(ASK, "UREQUESTER")))
    headers = _signed(bot, body, "application/json")
    headers["X-Slack-Request-Timestamp"] = stamp
    status, _ = _raw(bot, body.encode(), headers)
    assert status == 401


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("<<not json>>", "application/json"),
        ('{"type": "event_callback", "event": ', "application/json"),
        ("payload=%7Bnot+json", "application/x-www-form-urlencoded"),
        ("[1, 2, 3]", "application/json"),
        ('"just a string"', "application/json"),
    ],
)
def test_a_signed_body_that_is_not_a_slack_payload_is_400(
    start_bot: StartBot, body: str, content_type: str
) -> None:
    bot = start_bot()
    status, _ = _raw(bot, body.encode(), _signed(bot, body, content_type))
    assert status == 400


def test_an_unsigned_body_that_is_not_json_is_401(start_bot: StartBot) -> None:
    bot = start_bot()
    headers = _signed(bot, "{}", "application/json")
    headers["Content-Length"] = str(len(b"<<not json>>"))
    status, _ = _raw(bot, b"<<not json>>", headers)
    assert status == 401


@pytest.mark.parametrize("length", ["lots", "-1", "1e3", "9" * 30])
def test_a_bad_content_length_is_400(start_bot: StartBot, length: str) -> None:
    bot = start_bot()
    headers = _signed(bot, "{}", "application/json")
    headers["Content-Length"] = length
    status, _ = _raw(bot, b"{}", headers)
    assert status in (400, 413)


def test_a_body_that_is_not_utf8_is_400(start_bot: StartBot) -> None:
    bot = start_bot()
    body = b'{"a": "\xff\xfe"}'
    headers = _signed(bot, "{}", "application/json")
    headers["Content-Length"] = str(len(body))
    status, _ = _raw(bot, body, headers)
    assert status in (400, 401)


@pytest.mark.parametrize("action", ["sizer_approve", "sizer_reject", "sizer_edit"])
@pytest.mark.parametrize("value", ["not json", '{"p": "p-1"}', "", '{"p":1,"r":0,"h":""}'])
def test_a_damaged_button_value_is_explained(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture, action: str, value: str
) -> None:
    bot = start_bot()
    assert bot.sender is not None
    payload = sr.block_action(action, value, "UAPPROVER", "C1", "1700000000.000002", "1.0")
    with caplog.at_level(logging.ERROR):
        response = bot.sender.interactive(payload)
        assert response.status == 200
        ephemeral_to(bot.emulator, "UAPPROVER", "button")
    assert bot.executor.applied == []
    assert [r for r in caplog.records if r.exc_info] == []


def test_a_good_click_still_works_after_damaged_ones(start_bot: StartBot) -> None:
    bot = start_bot()
    assert bot.sender is not None
    bot.sender.event(sr.event_callback(sr.mention(ASK, "UREQUESTER", ts="1700000000.000001")))
    _, ref, ts = posted_card(bot.emulator, "items-api")
    bot.sender.interactive(sr.block_action("sizer_approve", "junk", "UAPPROVER", "C1", ts, "1.0"))
    bot.sender.interactive(
        sr.block_action("sizer_approve", ref.encode(), "UAPPROVER", "C1", ts, "1.0")
    )
    bot.emulator.wait_for("chat.update", lambda c: "Applied" in json.dumps(c.params), 15)
    assert len(bot.executor.applied) == 1


def test_a_burst_of_100_connections_all_get_answers(start_bot: StartBot) -> None:
    bot = start_bot()
    # A server that is listening but not yet accepting: the kernel's listen backlog alone must
    # hold the whole burst (as it must while the accept loop is busy under load).
    server = SlackHTTPServer(bot.runtime.app, "127.0.0.1", 0)
    sockets = [socket.socket() for _ in range(100)]
    started = False
    try:
        for sock in sockets:
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", server.port))
        deadline = time.monotonic() + 0.5
        pending = set(sockets)
        while pending and time.monotonic() < deadline:
            _, writable, _ = select.select([], list(pending), [], 0.05)
            pending -= set(writable)
        held = 100 - len(pending)
        assert held == 100, f"only {held} of 100 connections fit the listen backlog"
        server.start()
        started = True
        for sock in sockets:
            sock.setblocking(True)
            sock.settimeout(30)
        for sock in sockets:
            _, writable, _ = select.select([], [sock], [], 30)
            assert writable, "a connection never completed"
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answers = []
        for sock in sockets:
            data = b""
            while chunk := sock.recv(4096):
                data += chunk
            answers.append(data.split(b"\r\n", 1)[0])
    finally:
        for sock in sockets:
            sock.close()
        if started:
            server.shutdown()
        server.server_close()
    assert answers == [b"HTTP/1.0 200 OK"] * 100
