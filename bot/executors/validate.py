"""Check a rendered manifest against the official Kubernetes schemas before anything is applied.

The schemas are the ones shipped by ``kubernetes-validate`` for a pinned Kubernetes version
(a setting), in strict mode so a misspelt field is an error rather than silently dropped.
"""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import yaml

from bot.executors.errors import StepFailed

__all__ = ["load_manifest", "object_ref", "validate_manifest", "validate_object"]

STEP = "validate"


def object_ref(obj: dict[str, Any]) -> str:
    """``Kind/namespace/name``, the way steps and the card name an object."""
    meta = obj.get("metadata") or {}
    return f"{obj.get('kind')}/{meta.get('namespace', '')}/{meta.get('name')}"


def load_manifest(text: str) -> list[dict[str, Any]]:
    """The documents of a multi-document manifest; each must look like a Kubernetes object."""
    try:
        docs = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as exc:
        raise StepFailed(STEP, f"manifest is not YAML: {exc}") from exc
    for doc in docs:
        if not isinstance(doc, dict) or not {"apiVersion", "kind", "metadata"} <= doc.keys():
            raise StepFailed(STEP, "every document needs apiVersion, kind and metadata")
    if not docs:
        raise StepFailed(STEP, "manifest is empty")
    return docs


def validate_object(obj: dict[str, Any], kubernetes_version: str) -> None:
    try:
        kubernetes_validate.validate(obj, kubernetes_version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        where = ".".join(str(p) for p in exc.path) or "(root)"
        raise StepFailed(
            STEP,
            f"{object_ref(obj)} is not valid for Kubernetes {kubernetes_version}: "
            f"{exc.message} at {where}",
        ) from exc
    except (kubernetes_validate.SchemaNotFoundError, kubernetes_validate.InvalidSchemaError) as exc:
        raise StepFailed(STEP, f"{object_ref(obj)}: {exc.message}") from exc


def validate_manifest(text: str, kubernetes_version: str) -> list[dict[str, Any]]:
    docs = load_manifest(text)
    for doc in docs:
        validate_object(doc, kubernetes_version)
    return docs
