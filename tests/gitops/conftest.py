"""A real git repository (bare, in a temp dir, reached by ``file://``), the provider API
emulators on loopback, and the GitOps executor built on them through its constructor."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.executors.base import ApplyRequest, PreparedChange, PrepareRequest
from bot.executors.change_requests import ChangeRequests, GitHubPulls, GitLabMergeRequests
from bot.executors.gitops import GitOpsExecutor
from bot.executors.gitrepo import GitRepo
from bot.executors.kubernetes import KubeApi
from tests.approvals.doubles import RecordingExecutor
from tests.emulators.git_providers import ProviderEmulator
from tools.sizing.models import Reason

PROJECT = "platform/deploy"
TOKEN = "test-token"
PATH = "prod/team-a/items-api.yaml"


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=Dev", "-c", "user.email=dev@example.org", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@dataclass
class Remote:
    """The bare repository and a person's clone of it (to change the base behind Sizer's back)."""

    bare: Path
    person: Path

    @property
    def url(self) -> str:
        return self.bare.as_uri()

    def show(self, ref: str, path: str) -> str:
        return git(self.bare, "show", f"{ref}:{path}")

    def has_branch(self, branch: str) -> bool:
        return bool(git(self.bare, "branch", "--list", branch).strip())

    def branches(self) -> list[str]:
        return git(self.bare, "for-each-ref", "--format=%(refname:short)", "refs/heads").split()

    def commit_on_main(self, path: str, text: str, message: str = "hand edit") -> None:
        git(self.person, "pull", "--quiet", "--ff-only", "origin", "main")
        target = self.person / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        git(self.person, "add", "--", path)
        git(self.person, "commit", "--quiet", "-m", message)
        git(self.person, "push", "--quiet", "origin", "HEAD:main")


@pytest.fixture
def remote(tmp_path: Path) -> Remote:
    bare = tmp_path / "deploy.git"
    git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    person = tmp_path / "person"
    git(tmp_path, "clone", "--quiet", bare.as_uri(), str(person))
    git(person, "checkout", "--quiet", "-b", "main")
    (person / "README.md").write_text("deployed by Argo CD\n")
    git(person, "add", "README.md")
    git(person, "commit", "--quiet", "-m", "start")
    git(person, "push", "--quiet", "origin", "main")
    return Remote(bare, person)


@pytest.fixture(params=["github", "gitlab"])
def provider(request: pytest.FixtureRequest, remote: Remote) -> Iterator[ProviderEmulator]:
    emulator = ProviderEmulator(request.param, PROJECT, remote.bare, TOKEN).start()
    yield emulator
    emulator.stop()


def client_for(emulator: ProviderEmulator) -> ChangeRequests:
    if emulator.flavour == "github":
        return GitHubPulls(PROJECT, TOKEN, api_url=emulator.url)
    return GitLabMergeRequests(PROJECT, TOKEN, api_url=emulator.url)


class Preparer(RecordingExecutor):
    """The recording executor's render, keeping the inputs as the real pipeline does."""

    def prepare(self, request: PrepareRequest) -> PreparedChange:
        return super().prepare(request).model_copy(update={"request": request})


def make_gitops(
    remote: Remote,
    work: Path,
    emulator: ProviderEmulator | None = None,
    kube: KubeApi | None = None,
    path: str = "{cluster}/{namespace}/{name}.yaml",
    cluster: str = "prod",
) -> GitOpsExecutor:
    return GitOpsExecutor(
        repo=GitRepo(remote.url, work / "clone"),
        base="main",
        path_template=path,
        cluster=cluster,
        preparer=Preparer(),
        requests=client_for(emulator) if emulator is not None else None,
        provider=emulator.flavour if emulator is not None else "none",
        labels=("sizer", "rightsizing"),
        kube=kube,
    )


def prepare_request(**more: object) -> PrepareRequest:
    values: dict[str, object] = {
        "proposal_id": "p-0000abcd",
        "revision": 1,
        "workload": "items-api",
        "namespace": "team-a",
        "replicas": 3,
        "cpu_request": "250m",
        "cpu_limit": None,
        "memory_request": "256Mi",
        "memory_limit": "512Mi",
        "cluster": "prod",
        "image": "ghcr.io/acme/items-api:1.4.2",
    }
    values.update(more)
    return PrepareRequest.model_validate(values)


REASON = Reason(
    field="memory_request",
    value=268435456,
    text="256Mi: median p95 of 8 peers like it",
    statistic="median of peers' p95",
    window="7d",
    peers=("cartservice", "recommendationservice"),
)


def apply_request(change: PreparedChange, approver: str = "UAPPROVER") -> ApplyRequest:
    assert change.request is not None
    return ApplyRequest(
        proposal_id=change.request.proposal_id,
        revision=change.request.revision,
        workload=change.request.workload,
        namespace=change.request.namespace,
        approved_by=approver,
        change=change,
        cluster="prod",
        confidence=0.72,
        reasons=(REASON,),
    )


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
