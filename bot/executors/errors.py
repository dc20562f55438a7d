"""The one exception the executors raise, carrying the step that failed.

::

    StepFailed            a step could not do its work; ``step`` names it, the message says why
    └── StalePlan         the saved Terraform plan no longer matches what was shown or the state

A step failure is permanent for that proposal: the approval layer records it as ``failed``
and a person proposes again. Nothing here is retried automatically.
"""

from __future__ import annotations


class StepFailed(Exception):
    def __init__(self, step: str, message: str) -> None:
        super().__init__(message)
        self.step = step
        self.message = message

    def __str__(self) -> str:
        return f"{self.step}: {self.message}"


class StalePlan(StepFailed):
    """Apply refused: the plan file changed, vanished, or the state moved on since planning."""
