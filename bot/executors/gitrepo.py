"""A local clone of the GitOps repository, driven through the git command line.

Every call is a fixed argv (no shell, no user text as an option: paths come after ``--`` and
refs are checked), with prompts off so a missing credential fails at once instead of hanging.
Pushes are never forced: a branch that already exists upstream with other content is refused
by git itself, and the caller reports it.

An HTTPS token travels in git's environment (``GIT_CONFIG_*``), never on the command line.
"""

from __future__ import annotations

import base64
import fcntl
import os
import re
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["GitError", "GitRepo"]

_REF = re.compile(r"^[A-Za-z0-9._/-]{1,200}$")


class GitError(Exception):
    """A git command failed; the message is git's own last line, without credentials."""


def _check_ref(ref: str) -> str:
    if not _REF.match(ref) or ".." in ref or ref.startswith(("-", "/")) or ref.endswith("/"):
        raise GitError(f"{ref!r} is not a branch name git accepts here")
    return ref


class GitRepo:
    """One working clone; :meth:`lock` serialises its users, threads and processes alike
    (bot replicas may share the working directory)."""

    def __init__(
        self,
        url: str,
        directory: Path,
        *,
        author_name: str = "Sizer",
        author_email: str = "sizer@localhost",
        token: str | None = None,
        timeout_s: float = 60.0,
    ) -> None:
        self.url = url
        self.directory = directory
        self.author = (author_name, author_email)
        self.timeout_s = timeout_s
        self._thread_lock = threading.RLock()
        self._env = {
            **os.environ,
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_ASKPASS": "/bin/false",
            "GIT_CONFIG_NOSYSTEM": "1",
            "LC_ALL": "C",
        }
        if token and url.startswith("https://"):
            basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
            self._env |= {
                "GIT_CONFIG_COUNT": "1",
                "GIT_CONFIG_KEY_0": "http.extraHeader",
                "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
            }
        self._secret = token

    @contextmanager
    def lock(self) -> Iterator[None]:
        with self._thread_lock:
            self.directory.parent.mkdir(parents=True, exist_ok=True)
            path = self.directory.parent / f".{self.directory.name}.lock"
            with path.open("a") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)

    # -- plumbing --------------------------------------------------------------------------

    def _exec(
        self, args: tuple[str, ...], cwd: Path | None = None, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        name, email = self.author
        argv = [
            "git", "-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null",
            "-c", f"user.name={name}", "-c", f"user.email={email}", *args,
        ]  # fmt: skip
        try:
            return subprocess.run(  # fixed argv, no shell
                argv,
                cwd=cwd or self.directory,
                env=self._env,
                input=stdin,
                capture_output=True,
                text=True,
                timeout=self.timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise GitError(f"git {args[0]} took longer than {self.timeout_s:g}s") from None
        except OSError as exc:
            raise GitError(f"cannot run git: {exc.strerror}") from None

    def _run(self, *args: str, cwd: Path | None = None, stdin: str | None = None) -> str:
        done = self._exec(args, cwd, stdin)
        if done.returncode != 0:
            lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
            message = lines[-1] if lines else f"exit status {done.returncode}"
            if self._secret:
                message = message.replace(self._secret, "***")
            raise GitError(f"git {args[0]}: {message}")
        return done.stdout

    def _status(self, *args: str) -> int:
        return self._exec(args).returncode

    # -- reading ---------------------------------------------------------------------------

    def sync(self) -> None:
        """Clone on first use, then fetch every branch (pruning deleted ones)."""
        if not (self.directory / ".git").is_dir():
            self.directory.parent.mkdir(parents=True, exist_ok=True)
            clone = ("clone", "--quiet", "--no-tags", "--", self.url, str(self.directory))
            self._run(*clone, cwd=self.directory.parent)
        self._run("fetch", "--quiet", "--prune", "--no-tags", "origin")

    def head_of(self, branch: str) -> str | None:
        """The commit a remote branch points at after the last sync, or None."""
        ref = f"refs/remotes/origin/{_check_ref(branch)}"
        if self._status("rev-parse", "--verify", "--quiet", ref) != 0:
            return None
        return self._run("rev-parse", "--verify", ref).strip()

    def blob(self, commit: str, path: str) -> str | None:
        """The object id of ``path`` at ``commit``, or None when it has no such file."""
        if self._status("cat-file", "-e", f"{commit}:{path}") != 0:
            return None
        return self._run("rev-parse", f"{commit}:{path}").strip()

    def read(self, commit: str, path: str) -> str | None:
        if self.blob(commit, path) is None:
            return None
        return self._run("show", f"{commit}:{path}")

    def is_ancestor(self, commit: str, of: str) -> bool:
        return self._status("merge-base", "--is-ancestor", commit, of) == 0

    # -- writing ---------------------------------------------------------------------------

    def commit_file(self, base_commit: str, branch: str, path: str, text: str, message: str) -> str:
        """Commit ``text`` at ``path`` on a local ``branch`` made from ``base_commit``."""
        self._run("checkout", "--quiet", "--force", "-B", _check_ref(branch), base_commit)
        target = self.directory / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        self._run("add", "--", path)
        self._run("commit", "--quiet", "--no-verify", "--allow-empty", "--file=-", stdin=message)
        return self._run("rev-parse", "--verify", "HEAD").strip()

    def push(self, branch: str) -> bool:
        """Push the local ``branch`` as a new remote branch; False when git refuses it."""
        ref = _check_ref(branch)
        status = self._status("push", "--quiet", "--porcelain", "origin", f"{ref}:refs/heads/{ref}")
        return status == 0
