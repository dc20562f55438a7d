"""The Slack app manifest asks for exactly the scopes and events the code uses.

What the code uses is derived, not listed by hand: the Web API methods from every call on a
``WebClient`` method anywhere in ``bot/`` (resolved through slack_sdk's own source to the API
method names, so ``files_upload_v2`` becomes the two external-upload calls), and the events,
commands and interactive handlers from what :class:`~bot.slack.listeners.Listeners` registers.
A run through the real bot checks that everything the emulator saw called is in that set.
"""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from slack_sdk import WebClient

from bot.slack.listeners import Listeners
from tests.emulators import slack_requests as sr
from tests.slack.conftest import StartBot
from tests.slack.scenario import card_update, posted_card

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "deploy" / "slack-app-manifest.yaml"

# Bot-token scope each Web API method needs (api.slack.com/methods/<method>, "Required scopes").
# None: the method needs no scope (it is authorised by the token alone or by a trigger).
METHOD_SCOPES: dict[str, str | None] = {
    "auth.test": None,
    "apps.connections.open": "connections:write",  # app-level token, not a bot scope
    "chat.postMessage": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.update": "chat:write",
    "chat.getPermalink": None,
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
    "usergroups.users.list": "usergroups:read",
    "users.info": "users:read",
    "views.open": None,
    "views.publish": None,
}
APP_LEVEL_SCOPES = {"connections:write"}

# Events API subscription each registered event needs, and the scope behind it. ``message`` is
# registered once and answers only in direct messages (Listeners.on_message), so it is message.im.
EVENT_SUBSCRIPTIONS: dict[str, list[str]] = {
    "app_mention": ["app_mention"],
    "message": ["message.im"],
    "app_home_opened": ["app_home_opened"],
}
EVENT_SCOPES: dict[str, str | None] = {
    "app_mention": "app_mentions:read",
    "message.im": "im:history",
    "app_home_opened": None,
}


class RecordingApp:
    """Stands in for the Bolt app in ``Listeners.register`` and records what is registered."""

    def __init__(self) -> None:
        self.registered: dict[str, list[str]] = {"command": [], "event": [], "action": []}
        self.registered["view"] = []

    def middleware(self, fn: Callable[..., Any]) -> None:
        return None

    def _recorder(self, kind: str, name: str) -> Callable[[Callable[..., Any]], None]:
        self.registered[kind].append(name)
        return lambda fn: None

    def command(self, name: str) -> Callable[[Callable[..., Any]], None]:
        return self._recorder("command", name)

    def event(self, name: str) -> Callable[[Callable[..., Any]], None]:
        return self._recorder("event", name)

    def action(self, name: str) -> Callable[[Callable[..., Any]], None]:
        return self._recorder("action", name)

    def view(self, name: str) -> Callable[[Callable[..., Any]], None]:
        return self._recorder("view", name)


def _api_methods_of(python_name: str, seen: set[str] | None = None) -> set[str]:
    """The Web API methods one WebClient method calls, read from slack_sdk's source."""
    seen = seen if seen is not None else set()
    if python_name in seen:
        return set()
    seen.add(python_name)
    source = inspect.getsource(getattr(WebClient, python_name))
    found = set(re.findall(r"api_call\(\s*\"([a-zA-Z.]+)\"", source))
    for inner in re.findall(r"self\.([a-zA-Z_]+)\(", source):
        if inner != python_name and inner in _CLIENT_METHODS:
            found |= _api_methods_of(inner, seen)
    return found


_CLIENT_METHODS = {
    name
    for name, value in inspect.getmembers(WebClient, inspect.isfunction)
    if not name.startswith("_") and name not in {"api_call"}
}


def used_api_methods() -> dict[str, set[str]]:
    """API method → the bot/ files that call it, from every WebClient method call in bot/."""
    used: dict[str, set[str]] = {}
    for path in sorted((ROOT / "bot").rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in _CLIENT_METHODS
            ):
                for method in _api_methods_of(node.func.attr):
                    used.setdefault(method, set()).add(str(path.relative_to(ROOT)))
    return used


def registered() -> dict[str, list[str]]:
    app = RecordingApp()
    listeners = Listeners(
        service=None,  # type: ignore[arg-type]
        responder=None,  # type: ignore[arg-type]
        grammar=None,  # type: ignore[arg-type]
        pool=None,  # type: ignore[arg-type]
        deduper=None,  # type: ignore[arg-type]
        outbox=None,  # type: ignore[arg-type]
    )
    listeners.register(app)  # type: ignore[arg-type]
    return app.registered


def manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(MANIFEST.read_text())
    return loaded


def test_scanner_finds_the_calls_it_must() -> None:
    used = used_api_methods()
    # Known call sites: if the scanner stopped seeing these, it would pass on anything.
    assert "bot/slack/outbox.py" in used["chat.postMessage"]
    assert "bot/slack/runtime.py" in used["auth.test"]
    assert {"files.getUploadURLExternal", "files.completeUploadExternal"} <= set(used)


def test_every_method_the_code_calls_has_a_known_scope() -> None:
    unknown = sorted(set(used_api_methods()) - set(METHOD_SCOPES))
    assert unknown == [], f"add these methods and their scopes to METHOD_SCOPES: {unknown}"


def test_bot_scopes_are_exactly_what_the_code_needs() -> None:
    events = registered()["event"]
    needed = {METHOD_SCOPES[m] for m in used_api_methods()}
    needed |= {EVENT_SCOPES[s] for e in events for s in EVENT_SUBSCRIPTIONS[e]}
    if registered()["command"]:
        needed.add("commands")
    needed = {s for s in needed if s is not None} - APP_LEVEL_SCOPES
    assert sorted(manifest()["oauth_config"]["scopes"]["bot"]) == sorted(needed)


def test_events_commands_and_features_match_the_listeners() -> None:
    found = registered()
    app = manifest()
    subscribed = sorted(app["settings"]["event_subscriptions"]["bot_events"])
    assert subscribed == sorted(s for e in found["event"] for s in EVENT_SUBSCRIPTIONS[e])
    assert [c["command"] for c in app["features"]["slash_commands"]] == found["command"]
    assert app["settings"]["interactivity"]["is_enabled"] is bool(found["action"] or found["view"])
    assert app["features"]["app_home"]["home_tab_enabled"] is ("app_home_opened" in found["event"])
    # Direct messages reach the bot only with the Messages tab writable.
    assert app["features"]["app_home"]["messages_tab_read_only_enabled"] is False
    assert app["features"]["bot_user"]["display_name"]


def test_socket_mode_is_the_default_and_the_app_token_scope_is_documented() -> None:
    assert manifest()["settings"]["socket_mode_enabled"] is True
    readme = (ROOT / "README.md").read_text()
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "connections:write"):
        assert name in readme
    assert "deploy/slack-app-manifest.yaml" in readme


def test_what_a_real_conversation_calls_is_in_the_derived_set(start_bot: StartBot) -> None:
    """The emulator's record of a conversation over Socket Mode: nothing outside the scan."""
    bot = start_bot(http=False)
    emulator = bot.emulator
    ask = "size items-api --language python --rps 50-100 --namespace team-a"
    mention = sr.event_callback(sr.mention(ask, "U1"))
    emulator.wait_ack(emulator.send_envelope("events_api", mention))
    _, ref, ts = posted_card(emulator, "items-api")
    click = sr.block_action("sizer_approve", ref.encode(), "UGROUPMEMBER", "C1", ts)
    emulator.wait_ack(emulator.send_envelope("interactive", click))
    card_update(emulator, ts, "Applied")
    emulator.wait_ack(emulator.send_envelope("events_api", sr.event_callback(sr.home_opened("U1"))))
    emulator.wait_for("views.publish")
    called = {c.method for c in emulator.calls}
    assert {"usergroups.users.list", "chat.update", "views.publish"} <= called
    assert called <= set(used_api_methods())
