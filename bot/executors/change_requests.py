"""Pull requests (GitHub REST) and merge requests (GitLab API v4) for pushed branches.

Both speak the same small protocol, :class:`ChangeRequests`: find the request whose head is a
branch (so a second approval of the same revision finds the first request instead of opening
another), open one, and read its state. The HTTP transport is a constructor argument, and the
API base is a setting, so tests talk to a local emulator exactly as production talks to
github.com or a self-hosted GitLab.
"""

from __future__ import annotations

from typing import Any, Protocol
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from bot.executors.base import ChangeRequestState

__all__ = [
    "ChangeRequestError",
    "ChangeRequests",
    "GitHubPulls",
    "GitLabMergeRequests",
    "OpenedRequest",
    "project_of",
]

GITHUB_API = "https://api.github.com"
GITLAB_API = "https://gitlab.com/api/v4"


class ChangeRequestError(Exception):
    """The provider refused or could not be reached; the message says which and why."""


class OpenedRequest(BaseModel):
    number: int
    url: str
    state: ChangeRequestState


class ChangeRequests(Protocol):
    def find(self, branch: str) -> OpenedRequest | None: ...

    def open(
        self, *, branch: str, base: str, title: str, body: str, labels: tuple[str, ...]
    ) -> OpenedRequest: ...

    def status(self, number: int) -> OpenedRequest: ...


def project_of(repo_url: str) -> str:
    """``owner/repo`` from a git URL (``https://host/owner/repo.git``, ``git@host:owner/repo``)."""
    path = repo_url.split("://", 1)[-1]
    path = path.split(":", 1)[1] if path.startswith("git@") else path.split("/", 1)[-1]
    path = path.removesuffix(".git").strip("/")
    if "/" not in path:
        raise ChangeRequestError(
            f"cannot tell the project from {repo_url!r}; set SIZER_GITOPS_PROJECT (owner/repo)"
        )
    return path


class _Api:
    def __init__(
        self,
        base_url: str,
        headers: dict[str, str],
        *,
        timeout_s: float,
        transport: httpx.BaseTransport | None,
        provider: str,
    ) -> None:
        self.provider = provider
        self.http = httpx.Client(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout_s, transport=transport
        )

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ChangeRequestError(f"{self.provider} API unreachable: {exc}") from None
        if response.status_code >= 400:
            try:
                message = response.json().get("message", response.text)
            except ValueError:
                message = response.text
            raise ChangeRequestError(
                f"{self.provider} API {method} {path}: {response.status_code} {str(message)[:200]}"
            )
        try:
            return response.json()
        except ValueError:
            raise ChangeRequestError(f"{self.provider} API answered non-JSON to {path}") from None


class GitHubPulls:
    """GitHub's pulls API: ``/repos/{owner}/{repo}/pulls``; labels through the issues API."""

    def __init__(
        self,
        project: str,
        token: str | None,
        *,
        api_url: str = GITHUB_API,
        timeout_s: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.owner = project.split("/", 1)[0]
        self.base = f"/repos/{project}"
        self.api = _Api(
            api_url, headers, timeout_s=timeout_s, transport=transport, provider="GitHub"
        )

    @staticmethod
    def _opened(body: Any) -> OpenedRequest:
        if not isinstance(body, dict) or not isinstance(body.get("number"), int):
            raise ChangeRequestError("GitHub API answered without a pull request number")
        merged = bool(body.get("merged") or body.get("merged_at"))
        state: ChangeRequestState = (
            "merged" if merged else "open" if body.get("state") == "open" else "closed"
        )
        return OpenedRequest(number=body["number"], url=str(body.get("html_url", "")), state=state)

    def find(self, branch: str) -> OpenedRequest | None:
        found = self.api.call(
            "GET", f"{self.base}/pulls", params={"head": f"{self.owner}:{branch}", "state": "all"}
        )
        if not isinstance(found, list) or not found:
            return None
        return self._opened(found[0])

    def open(
        self, *, branch: str, base: str, title: str, body: str, labels: tuple[str, ...]
    ) -> OpenedRequest:
        created = self._opened(
            self.api.call(
                "POST",
                f"{self.base}/pulls",
                json={"title": title, "head": branch, "base": base, "body": body},
            )
        )
        if labels:
            self.api.call(
                "POST", f"{self.base}/issues/{created.number}/labels", json={"labels": labels}
            )
        return created

    def status(self, number: int) -> OpenedRequest:
        return self._opened(self.api.call("GET", f"{self.base}/pulls/{number}"))


class GitLabMergeRequests:
    """GitLab's merge requests API: ``/projects/{id}/merge_requests``."""

    def __init__(
        self,
        project: str,
        token: str | None,
        *,
        api_url: str = GITLAB_API,
        timeout_s: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"PRIVATE-TOKEN": token} if token else {}
        self.base = f"/projects/{quote(project, safe='')}"
        self.api = _Api(
            api_url, headers, timeout_s=timeout_s, transport=transport, provider="GitLab"
        )

    @staticmethod
    def _opened(body: Any) -> OpenedRequest:
        if not isinstance(body, dict) or not isinstance(body.get("iid"), int):
            raise ChangeRequestError("GitLab API answered without a merge request iid")
        raw = body.get("state")
        state: ChangeRequestState = (
            "merged" if raw == "merged" else "open" if raw in ("opened", "locked") else "closed"
        )
        return OpenedRequest(number=body["iid"], url=str(body.get("web_url", "")), state=state)

    def find(self, branch: str) -> OpenedRequest | None:
        found = self.api.call(
            "GET", f"{self.base}/merge_requests", params={"source_branch": branch, "state": "all"}
        )
        if not isinstance(found, list) or not found:
            return None
        return self._opened(found[0])

    def open(
        self, *, branch: str, base: str, title: str, body: str, labels: tuple[str, ...]
    ) -> OpenedRequest:
        return self._opened(
            self.api.call(
                "POST",
                f"{self.base}/merge_requests",
                json={
                    "source_branch": branch,
                    "target_branch": base,
                    "title": title,
                    "description": body,
                    "labels": ",".join(labels),
                },
            )
        )

    def status(self, number: int) -> OpenedRequest:
        return self._opened(self.api.call("GET", f"{self.base}/merge_requests/{number}"))
