"""A size request being put together: what has been said so far, and what is still missing.

Every way of asking fills a :class:`Draft` and turns it into a
:class:`~tools.propose.SizeRequest` with :meth:`Draft.request`, so the grammar, plain language
and a conversation across several messages end in the same typed request.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from tools.propose import REQUEST_KINDS, SizeRequest

__all__ = ["Draft", "Slot", "request_error"]

Slot = Literal["name", "load", "image", "similar"]


def request_error(exc: ValidationError, flags: bool = False) -> str:
    """The first validation problem as one sentence naming the field (``--field`` if flags)."""
    error = exc.errors()[0]
    loc = [str(p) for p in error["loc"]]
    where = loc[0] if loc else "request"
    if flags and loc:
        where = "--" + where.replace("_", "-")
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if loc else message


class Draft(BaseModel):
    """What has been said about a new service; ``None`` where nothing has."""

    model_config = ConfigDict(frozen=True)

    name: str | None = None
    namespace: str | None = None
    cluster: str | None = None
    language: str | None = None
    framework: str | None = None
    kind: str | None = None
    rps_low: float | None = None
    rps_high: float | None = None
    messages_low: float | None = None
    messages_high: float | None = None
    similar: tuple[str, ...] = ()
    critical: bool | None = None
    image: str | None = None
    port: int | None = None
    probe_path: str | None = None
    problems: tuple[str, ...] = ()

    @property
    def has_load(self) -> bool:
        return self.rps_high is not None or self.messages_high is not None

    @property
    def is_request(self) -> bool:
        """Does this say anything a size request would use?"""
        return self.name is not None or self.has_load

    def missing(self, *, need_image: bool = False) -> list[Slot]:
        """The essential slots still empty, in the order Sizer asks for them."""
        out: list[Slot] = []
        if self.name is None:
            out.append("name")
        if not self.has_load and (self.kind or "http") in REQUEST_KINDS:
            out.append("load")
        if need_image and self.image is None:
            out.append("image")
        return out

    def merged(self, newer: Draft) -> Draft:
        """This draft with what ``newer`` (a later message) adds or corrects."""
        update = {
            k: v
            for k, v in newer.model_dump().items()
            if v is not None and v != () and k != "problems"
        }
        if newer.rps_high is not None:
            update |= {"messages_low": None, "messages_high": None}
        if newer.messages_high is not None:
            update |= {"rps_low": None, "rps_high": None}
        update["problems"] = newer.problems
        return self.model_copy(update=update)

    def request(self) -> SizeRequest:
        """The typed request; ``ValueError`` naming the field when something is off."""
        missing = self.missing()
        if missing:
            raise ValueError(f"missing: {', '.join(missing)}")
        kind = self.kind or "http"
        try:
            return SizeRequest.model_validate(
                self.model_dump(exclude={"problems"})
                | {
                    "namespace": self.namespace or "default",
                    "kind": kind,
                    "critical": bool(self.critical),
                    "port": self.port or 8080,
                }
            )
        except ValidationError as exc:
            raise ValueError(request_error(exc)) from None

    @classmethod
    def of(cls, request: SizeRequest) -> Draft:
        return cls.model_validate(request.model_dump())
