"""What Slack sends to an app: payload builders, and correctly signed HTTP delivery.

The same payloads go over HTTP (signed like Slack signs them, checked by Bolt with
``slack_sdk.signature.SignatureVerifier``) or inside Socket Mode envelopes.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

JSON = dict[str, Any]
TEAM = {"id": "T1", "domain": "test"}


def event_callback(event: JSON, event_id: str | None = None) -> JSON:
    return {
        "token": "legacy",
        "team_id": "T1",
        "api_app_id": "A1",
        "type": "event_callback",
        "event_id": event_id or "Ev" + uuid.uuid4().hex[:10].upper(),
        "event_time": int(time.time()),
        "authorizations": [{"team_id": "T1", "user_id": "UBOT", "is_bot": True}],
        "event": event,
    }


def mention(text: str, user: str, channel: str = "C1", ts: str = "1700000000.000001") -> JSON:
    return {
        "type": "app_mention",
        "user": user,
        "text": f"<@UBOT> {text}",
        "channel": channel,
        "ts": ts,
        "event_ts": ts,
    }


def direct_message(text: str, user: str, channel: str = "D1", ts: str = "1700000001.1") -> JSON:
    return {
        "type": "message",
        "channel_type": "im",
        "user": user,
        "text": text,
        "channel": channel,
        "ts": ts,
        "event_ts": ts,
    }


def home_opened(user: str) -> JSON:
    return {
        "type": "app_home_opened",
        "user": user,
        "channel": "D1",
        "tab": "home",
        "event_ts": "1700000002.1",
    }


def slash(text: str, user: str, channel: str = "C1") -> JSON:
    return {
        "token": "legacy",
        "team_id": "T1",
        "team_domain": "test",
        "channel_id": channel,
        "channel_name": "general",
        "user_id": user,
        "user_name": user.lower(),
        "command": "/sizer",
        "text": text,
        "api_app_id": "A1",
        "response_url": "https://hooks.invalid/commands/1",
        "trigger_id": "trig." + uuid.uuid4().hex[:8],
    }


def block_action(
    action_id: str,
    value: str,
    user: str,
    channel: str,
    message_ts: str,
    thread_ts: str | None = None,
) -> JSON:
    message: JSON = {"type": "message", "ts": message_ts, "text": "card"}
    if thread_ts:
        message["thread_ts"] = thread_ts
    return {
        "type": "block_actions",
        "team": TEAM,
        "user": {"id": user, "username": user.lower(), "team_id": "T1"},
        "api_app_id": "A1",
        "token": "legacy",
        "trigger_id": "trig." + uuid.uuid4().hex[:8],
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel},
        "channel": {"id": channel, "name": "general"},
        "message": message,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "sizer_decision",
                "value": value,
                "action_ts": str(time.time()),
            }
        ],
    }


def view_submission(view: JSON, values: dict[str, str], user: str, view_id: str = "V1") -> JSON:
    """A modal's submission; each opened modal has its own ``view_id`` in Slack."""
    state = {
        field: {"value": {"type": "plain_text_input", "value": value or None}}
        for field, value in values.items()
    }
    return {
        "type": "view_submission",
        "team": TEAM,
        "user": {"id": user, "username": user.lower(), "team_id": "T1"},
        "api_app_id": "A1",
        "token": "legacy",
        "trigger_id": "trig." + uuid.uuid4().hex[:8],
        "view": {**view, "id": view_id, "team_id": "T1", "state": {"values": state}},
    }


@dataclass
class Response:
    status: int
    body: str
    seconds: float

    def json(self) -> JSON:
        return json.loads(self.body) if self.body else {}


class SignedSender:
    """Posts to ``/slack/events`` exactly as Slack does, signature and all."""

    def __init__(self, url: str, signing_secret: str) -> None:
        self.url = url
        self._verifier = SignatureVerifier(signing_secret)

    def sign(self, timestamp: str, body: str) -> str:
        signature = self._verifier.generate_signature(timestamp=timestamp, body=body)
        assert signature is not None
        return signature

    def _post(
        self,
        body: str,
        content_type: str,
        extra: dict[str, str] | None = None,
        timestamp: int | None = None,
        signature: str | None = None,
    ) -> Response:
        stamp = str(timestamp if timestamp is not None else int(time.time()))
        headers: dict[str, str] = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature or self.sign(stamp, body),
            **(extra or {}),
        }
        request = urllib.request.Request(self.url, data=body.encode(), headers=headers)
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                text = response.read().decode()
                return Response(response.status, text, time.monotonic() - started)
        except urllib.error.HTTPError as exc:
            return Response(exc.code, exc.read().decode(), time.monotonic() - started)

    def event(self, body: JSON, retry_num: int | None = None, **kw: Any) -> Response:
        extra = {}
        if retry_num is not None:
            extra = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        return self._post(json.dumps(body), "application/json", extra, **kw)

    def command(self, body: JSON, **kw: Any) -> Response:
        return self._post(urlencode(body), "application/x-www-form-urlencoded", **kw)

    def interactive(self, payload: JSON, **kw: Any) -> Response:
        return self._post(
            urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded", **kw
        )
