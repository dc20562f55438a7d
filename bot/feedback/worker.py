"""rq workers and rq's scheduler for the checks, in-process (``sizer serve``) or alone
(``sizer worker``).

Workers are rq ``SimpleWorker``s (no fork per job: the Slack client and Redis pools are shared)
that bind the :class:`~bot.feedback.jobs.FeedbackRuntime` around each job. Jobs time out by
timer, not SIGALRM, so workers can run in threads. rq's :class:`~rq.scheduler.RQScheduler`
moves due jobs to the queue: it takes a per-queue lock in Redis, so however many processes
run one, a due job is enqueued once, and rq's atomic dequeue gives it to one worker.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from redis import Redis
from rq import Queue, SimpleWorker
from rq.job import Job
from rq.scheduler import RQScheduler
from rq.timeouts import TimerDeathPenalty

from bot.feedback.jobs import FeedbackRuntime, bound

__all__ = ["CheckRunner", "CheckWorker", "SchedulerLoop"]

log = logging.getLogger(__name__)


class CheckWorker(SimpleWorker):
    death_penalty_class = TimerDeathPenalty

    def __init__(self, queues: list[Queue], *, runtime: FeedbackRuntime, **kwargs: Any) -> None:
        super().__init__(queues, **kwargs)
        self.runtime = runtime

    def perform_job(self, job: Job, queue: Queue, *args: Any, **kwargs: Any) -> bool:
        with bound(self.runtime):
            return bool(super().perform_job(job, queue, *args, **kwargs))

    def stop(self) -> None:
        """Finish the current job, then leave the loop (checked after each dequeue wait)."""
        self._stop_requested = True

    def _install_signal_handlers(self) -> None:
        # In a thread of `sizer serve` the process's own handlers stop the workers.
        if threading.current_thread() is threading.main_thread():
            super()._install_signal_handlers()  # type: ignore[no-untyped-call]


class SchedulerLoop:
    """rq's scheduler driven from a thread: lock, heartbeat, enqueue what is due, sleep."""

    def __init__(self, queue: Queue, connection: Redis, interval_s: int = 1) -> None:
        self._scheduler = RQScheduler([queue.name], connection=connection, interval=interval_s)
        self._interval = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> None:
        s = self._scheduler
        if s.should_reacquire_locks:
            s.acquire_locks()  # type: ignore[no-untyped-call]
        if s.acquired_locks:
            s.heartbeat()  # type: ignore[no-untyped-call]
            s.enqueue_scheduled_jobs()  # type: ignore[no-untyped-call]

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sizer-scheduler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("scheduler tick failed")
            self._stop.wait(self._interval)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._scheduler.release_locks()  # type: ignore[no-untyped-call]


class CheckRunner:
    """The scheduler plus ``count`` workers, each in a thread; start() also seeds the watch."""

    def __init__(
        self, queue: Queue, connection: Redis, runtime: FeedbackRuntime, count: int
    ) -> None:
        self._queue = queue
        self._runtime = runtime
        self.scheduler = SchedulerLoop(queue, connection)
        self.workers = [
            CheckWorker([queue], connection=connection, runtime=runtime, worker_ttl=20)
            for _ in range(count)
        ]
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        rt = self._runtime
        rt.scheduler.schedule_watch()
        if rt.peers is not None:  # the current slot is due now: a first catalog at start-up
            rt.scheduler.schedule_peer_refresh(slot=rt.scheduler.current_slot("peers"))
        self.scheduler.start()
        for index, worker in enumerate(self.workers):
            thread = threading.Thread(
                target=worker.work, name=f"sizer-check-worker-{index}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.scheduler.stop()
        for thread in self._threads:
            thread.join(timeout=15)
