"""A bounded pool for work that outlives Slack's 3-second acknowledgement window.

Listeners acknowledge first and hand sizing, applies and charts to this pool. Both the
number of threads and the backlog are bounded: when both are full, :meth:`submit` says no
and the listener tells the person to try again, instead of queueing without limit.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

log = logging.getLogger(__name__)


class WorkerPool:
    def __init__(self, workers: int, backlog: int) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sizer-work")
        self._slots = threading.BoundedSemaphore(workers + backlog)

    def submit(self, job: Callable[[], None]) -> Future[None] | None:
        """Run ``job`` on a worker; None if the pool and its backlog are full."""
        if not self._slots.acquire(blocking=False):
            return None

        def run() -> None:
            try:
                job()
            except Exception:
                log.exception("background job failed")
            finally:
                self._slots.release()

        try:
            return self._executor.submit(run)
        except RuntimeError:  # shut down
            self._slots.release()
            return None

    def shutdown(self, wait: bool = True) -> None:
        self._executor.shutdown(wait=wait)
