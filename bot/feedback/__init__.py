"""Closing the loop after an apply: scheduled checks, reports, OOM watch, right-size revisions,
peers from the cluster and the outcomes cold start learns from.

- :mod:`~bot.feedback.schedule` schedules the checks of an applied revision as rq jobs;
- :mod:`~bot.feedback.worker` runs rq's scheduler and workers (``sizer serve``/``sizer worker``);
- :mod:`~bot.feedback.jobs` holds the functions those jobs call;
- :mod:`~bot.feedback.checker` runs one check: Prometheus → goals → report → new revision;
- :mod:`~bot.feedback.goals`, :mod:`~bot.feedback.resize`, :mod:`~bot.feedback.report`,
  :mod:`~bot.feedback.chart` are the pure parts of a check;
- :mod:`~bot.feedback.outcomes` stores predictions and outcomes and exports fine-tuning data;
- :mod:`~bot.feedback.peers` builds the peer catalog from Prometheus and caches it in Redis.
"""

from bot.feedback.checker import CheckDeferred, Checker, ThreadPoster
from bot.feedback.outcomes import Outcome, OutcomeStore, finetune_examples
from bot.feedback.peers import ClusterCatalog
from bot.feedback.schedule import CheckScheduler
from bot.feedback.spec import CheckSpec
from bot.feedback.worker import CheckRunner, CheckWorker

__all__ = [
    "CheckDeferred",
    "CheckRunner",
    "CheckScheduler",
    "CheckSpec",
    "CheckWorker",
    "Checker",
    "ClusterCatalog",
    "Outcome",
    "OutcomeStore",
    "ThreadPoster",
    "finetune_examples",
]
