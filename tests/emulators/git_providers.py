"""GitHub's pulls API and GitLab's merge requests API, emulated over HTTP on loopback.

Only the endpoints Sizer calls, with the providers' own shapes and refusals: a token is
required, a second request for the same head branch is refused (GitHub 422, GitLab 409), and
the head branch must exist in the bare repository behind the emulator. ``merge`` fast-forwards
that repository's base branch to the head, as a merge button would; ``close`` closes unmerged.
"""

from __future__ import annotations

import json
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

from tests.emulators.loopback import serve, shutdown, url_of

Obj = dict[str, Any]


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "--git-dir", str(repo), *args], capture_output=True, text=True, check=False
    )


class ProviderEmulator:
    def __init__(
        self,
        flavour: Literal["github", "gitlab"],
        project: str,
        repo: Path,
        token: str = "test-token",
    ) -> None:
        self.flavour = flavour
        self.project = project
        self.repo = repo
        self.token = token
        self.requests: list[Obj] = []
        self.calls: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # --- test controls ----------------------------------------------------------------------

    def start(self) -> ProviderEmulator:
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return None

            def do_GET(self) -> None:
                emulator._handle(self, "GET")

            def do_POST(self) -> None:
                emulator._handle(self, "POST")

        self._server = serve(Handler)
        return self

    def stop(self) -> None:
        shutdown(self._server)

    @property
    def url(self) -> str:
        base = url_of(self._server)
        return base + ("/api/v4" if self.flavour == "gitlab" else "")

    def merge(self, number: int) -> None:
        """Merge like the button: fast-forward the base branch of the repository to the head."""
        with self._lock:
            pr = self._by_number(number)
            head = _git(self.repo, "rev-parse", f"refs/heads/{pr['_head']}").stdout.strip()
            done = _git(self.repo, "update-ref", f"refs/heads/{pr['_base']}", head)
            assert done.returncode == 0, done.stderr
            pr["state"] = "closed" if self.flavour == "github" else "merged"
            pr["merged"] = True

    def close(self, number: int) -> None:
        with self._lock:
            pr = self._by_number(number)
            pr["state"] = "closed"

    # --- request handling -------------------------------------------------------------------

    def _by_number(self, number: int) -> Obj:
        key = "number" if self.flavour == "github" else "iid"
        return next(pr for pr in self.requests if pr[key] == number)

    def _send(self, handler: BaseHTTPRequestHandler, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        self.calls.append((method, parts.path))
        if not self._authorised(handler):
            self._send(handler, 401, {"message": "Bad credentials"})
            return
        length = int(handler.headers.get("Content-Length") or 0)
        body = json.loads(handler.rfile.read(length) or b"{}") if length else {}
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        with self._lock:
            if self.flavour == "github":
                status, answer = self._github(method, unquote(parts.path), query, body)
            else:
                status, answer = self._gitlab(method, parts.path, query, body)
        self._send(handler, status, answer)

    def _authorised(self, handler: BaseHTTPRequestHandler) -> bool:
        if self.flavour == "github":
            return handler.headers.get("Authorization") == f"Bearer {self.token}"
        return handler.headers.get("PRIVATE-TOKEN") == self.token

    def _branch_exists(self, branch: str) -> bool:
        return _git(self.repo, "rev-parse", "--verify", f"refs/heads/{branch}").returncode == 0

    def _github(self, method: str, path: str, query: dict[str, str], body: Obj) -> tuple[int, Any]:
        owner = self.project.split("/")[0]
        base = f"/repos/{self.project}"
        public = [{k: v for k, v in pr.items() if not k.startswith("_")} for pr in self.requests]
        if method == "GET" and path == f"{base}/pulls":
            head = query.get("head", "")
            return 200, [p for p, pr in zip(public, self.requests, strict=True) if
                         f"{owner}:{pr['_head']}" == head]  # fmt: skip
        if method == "POST" and path == f"{base}/pulls":
            head = str(body.get("head", ""))
            if any(pr["_head"] == head and pr["state"] == "open" for pr in self.requests):
                return 422, {"message": f"A pull request already exists for {owner}:{head}."}
            if not self._branch_exists(head):
                return 422, {"message": "Validation Failed: head does not exist"}
            number = len(self.requests) + 1
            pr = {
                "number": number,
                "html_url": f"https://github.example/{self.project}/pull/{number}",
                "state": "open",
                "merged": False,
                "title": body.get("title"),
                "body": body.get("body"),
                "labels": [],
                "_head": head,
                "_base": body.get("base"),
            }
            self.requests.append(pr)
            return 201, {k: v for k, v in pr.items() if not k.startswith("_")}
        for pr, shown in zip(self.requests, public, strict=True):
            if method == "GET" and path == f"{base}/pulls/{pr['number']}":
                return 200, shown
            if method == "POST" and path == f"{base}/issues/{pr['number']}/labels":
                pr["labels"] = [{"name": n} for n in body.get("labels", [])]
                return 200, pr["labels"]
        return 404, {"message": "Not Found"}

    def _gitlab(self, method: str, path: str, query: dict[str, str], body: Obj) -> tuple[int, Any]:
        base = "/api/v4/projects/" + self.project.replace("/", "%2F")
        public = [{k: v for k, v in pr.items() if not k.startswith("_")} for pr in self.requests]
        if method == "GET" and path == f"{base}/merge_requests":
            branch = query.get("source_branch", "")
            return 200, [p for p in public if p["source_branch"] == branch]
        if method == "POST" and path == f"{base}/merge_requests":
            branch = str(body.get("source_branch", ""))
            if any(pr["source_branch"] == branch and pr["state"] == "opened" for pr in public):
                return 409, {"message": ["Another open merge request already exists"]}
            if not self._branch_exists(branch):
                return 422, {"message": "Source branch does not exist"}
            iid = len(self.requests) + 1
            mr = {
                "iid": iid,
                "web_url": f"https://gitlab.example/{self.project}/-/merge_requests/{iid}",
                "state": "opened",
                "title": body.get("title"),
                "description": body.get("description"),
                "labels": [x for x in str(body.get("labels", "")).split(",") if x],
                "source_branch": branch,
                "target_branch": body.get("target_branch"),
                "_head": branch,
                "_base": body.get("target_branch"),
            }
            self.requests.append(mr)
            return 201, {k: v for k, v in mr.items() if not k.startswith("_")}
        for shown in public:
            if method == "GET" and path == f"{base}/merge_requests/{shown['iid']}":
                return 200, shown
        return 404, {"message": "404 Not Found"}
