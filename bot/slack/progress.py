"""One progress message per piece of work: posted at once, edited at most once a second.

Slack rate-limits ``chat.update`` to about one call per second per message, and people read a
checklist better than a stream of raw log lines. So the executor's lines (``render: started``,
``rollout: ok — 3/3 ready``…) are folded into one step list with readable titles, and edits are
coalesced: a burst of lines becomes one edit, the last one always lands (a timer flushes it),
and :meth:`ThreadProgress.finish` writes the final state, which the caller builds from what the
store recorded.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from slack_sdk.errors import SlackApiError

from bot.slack import blocks
from bot.slack.wording import step_title

if TYPE_CHECKING:
    from bot.slack.outbox import Outbox

__all__ = ["MIN_UPDATE_INTERVAL_S", "StepBoard", "ThreadProgress"]

log = logging.getLogger(__name__)
MIN_UPDATE_INTERVAL_S = 1.0
_STEP_LINE = re.compile(r"(?P<name>[a-z][a-z-]*): (?P<rest>.*)\Z", re.DOTALL)
_MARK = {"running": ":hourglass_flowing_sand:", "ok": ":white_check_mark:", "failed": ":x:"}


class StepBoard:
    """The state of each step seen so far, rendered as a short checklist."""

    def __init__(self) -> None:
        self.title = ""
        self.note = ""
        self._steps: dict[str, tuple[str, str]] = {}

    def add(self, line: str) -> None:
        match = _STEP_LINE.match(line)
        if match is None:
            self.note = line
            return
        name, rest = match["name"], match["rest"]
        if rest == "started":
            self._steps[name] = ("running", "")
        elif rest.startswith("ok — "):
            self._steps[name] = ("ok", rest.removeprefix("ok — "))
        elif rest.startswith("FAILED — "):
            self._steps[name] = ("failed", rest.removeprefix("FAILED — "))
        else:  # a step's own progress (``rollout: 1/3 ready``) while it runs
            status = self._steps.get(name, ("running", ""))[0]
            self._steps[name] = (status, rest)

    def render(self) -> str:
        lines = [self.title] if self.title else []
        for name, (status, detail) in self._steps.items():
            shown = detail if status != "ok" or name in ("rollout", "rollback") else ""
            text = f"{_MARK[status]} {step_title(name)}" + (f" — {shown}" if shown else "")
            lines.append(blocks.clip(text, 400))
        if self.note and not self._steps:
            lines.append(f":hourglass_flowing_sand: {self.note}")
        return "\n".join(lines)


class ThreadProgress:
    """Posts the first progress line in the thread, edits it (throttled), and closes it.

    ``thread_ts`` may be a function, so a thread root is only posted once there is progress.
    """

    def __init__(
        self,
        outbox: Outbox,
        channel: str,
        thread_ts: str | Callable[[], str] | None,
        *,
        min_interval_s: float = MIN_UPDATE_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._outbox = outbox
        self._channel = channel
        self._thread_ts = thread_ts
        self._interval = min_interval_s
        self._clock = clock
        self._board = StepBoard()
        self._lock = threading.RLock()
        self._ts: str | None = None
        self._shown = ""
        self._last = -1e9
        self._timer: threading.Timer | None = None
        self._closed = False

    @property
    def ts(self) -> str | None:
        return self._ts

    def start(self, title: str) -> None:
        """Show at once that the work has started."""
        with self._lock:
            self._board.title = title
            self._flush()

    def __call__(self, text: str) -> None:
        with self._lock:
            if self._closed:
                return
            self._board.add(text)
            self._flush()

    def finish(self, text: str = ":white_check_mark: Done.") -> None:
        """Replace the progress with the final line; only when progress was shown."""
        with self._lock:
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self._ts is None:
                return
            wait = self._last + self._interval - self._clock()
        if wait > 0:
            time.sleep(wait)
        with self._lock:
            steps = self._board.render().split("\n")[1 if self._board.title else 0 :]
            done = [line for line in steps if not line.startswith(":hourglass")]
            self._send("\n".join([text, *done]) if done else text)

    def _flush(self) -> None:
        if self._ts is None:
            self._send(self._board.render())
            return
        due = self._last + self._interval - self._clock()
        if due <= 0:
            self._send(self._board.render())
        elif self._timer is None:
            self._timer = threading.Timer(due, self._later)
            self._timer.daemon = True
            self._timer.start()

    def _later(self) -> None:
        with self._lock:
            self._timer = None
            if not self._closed:
                self._send(self._board.render())

    def _send(self, text: str) -> None:
        text = blocks.clip(text, blocks.MAX_SECTION)
        if not text or text == self._shown:
            return
        client = self._outbox.client
        try:
            if self._ts is not None:
                client.chat_update(channel=self._channel, ts=self._ts, text=text)
            else:
                thread = self._thread_ts() if callable(self._thread_ts) else self._thread_ts
                self._ts = self._outbox.post(self._channel, text, thread)
            self._shown = text
        except (SlackApiError, OSError) as exc:
            log.warning("progress post failed: %s", exc)
        finally:
            self._last = self._clock()
