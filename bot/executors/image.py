"""The last check before anything is applied or pushed: the workload runs a real image."""

from __future__ import annotations

from bot.executors.base import PreparedChange
from bot.executors.errors import StepFailed

__all__ = ["PLACEHOLDER_IMAGES", "check_image"]

PLACEHOLDER_IMAGES = ("registry.local/placeholder",)


def check_image(change: PreparedChange, step: str = "render") -> str:
    """Refuse a proposal whose workload has no real image: it would never start."""
    image = change.request.image if change.request is not None else None
    if change.request is not None and not image:
        raise StepFailed(step, "the proposal names no container image; ask again with the image")
    if image and image.startswith(PLACEHOLDER_IMAGES):
        raise StepFailed(step, f"{image} is a placeholder, not an image to run")
    return f"image {image}"
