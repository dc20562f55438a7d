"""The GitOps executor against a real bare repository and the provider API emulators."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.executors.base import ApplyResult
from bot.executors.gitops import branch_name
from tests.emulators.git_providers import ProviderEmulator
from tests.gitops.conftest import (
    PATH,
    Remote,
    apply_request,
    git,
    make_gitops,
    prepare_request,
    sha256,
)

BRANCH = branch_name("p-0000abcd", 1)


def _quiet(_: str) -> None:
    return None


def test_approval_commits_exactly_the_shown_manifest_and_opens_one_request(
    remote: Remote, provider: ProviderEmulator, tmp_path: Path
) -> None:
    executor = make_gitops(remote, tmp_path, provider)
    change = executor.prepare(prepare_request())
    assert change.git_base is not None and change.git_base.path == PATH
    assert change.git_base.blob is None  # a new file

    result = executor.apply(apply_request(change), _quiet)

    assert result.ok, result.error
    assert remote.branches() == ["main", BRANCH]
    committed = remote.show(BRANCH, PATH)
    assert committed == change.manifest_yaml and sha256(committed) == change.manifest_sha256
    assert remote.show("main", "README.md")  # the base is untouched
    message = git(remote.bare, "log", "-1", "--format=%B", BRANCH)
    assert message.startswith("Size team-a/items-api on prod: 3 replicas, cpu 250m")
    assert "256Mi: median p95 of 8 peers like it" in message
    assert "Approved-by: UAPPROVER" in message
    assert f"Manifest-sha256: {change.manifest_sha256}" in message

    assert len(provider.requests) == 1
    opened = provider.requests[0]
    assert opened["title"].startswith("Size team-a/items-api on prod: 3 replicas")
    body = opened["body"] if provider.flavour == "github" else opened["description"]
    assert "confidence 0.72" in body and "median of peers' p95; 7d" in body
    assert "cartservice" in body and change.manifest_sha256 in body
    labels = [x["name"] if isinstance(x, dict) else x for x in opened["labels"]]
    assert labels == ["sizer", "rightsizing"]
    change_request = result.change_request
    assert change_request is not None and change_request.number == 1
    assert change_request.url and change_request.state == "open"
    assert executor.follow(change_request) == "open"

    provider.merge(1)
    assert executor.follow(change_request) == "merged"
    assert remote.show("main", PATH) == change.manifest_yaml


def test_a_second_apply_of_the_same_revision_finds_the_branch_and_the_request(
    remote: Remote, provider: ProviderEmulator, tmp_path: Path
) -> None:
    executor = make_gitops(remote, tmp_path, provider)
    change = executor.prepare(prepare_request())
    first = executor.apply(apply_request(change), _quiet)
    second = executor.apply(apply_request(change), _quiet)
    other = make_gitops(remote, tmp_path / "replica-2", provider)  # another bot replica
    third = other.apply(apply_request(change), _quiet)

    assert first.ok and second.ok and third.ok, (second.error, third.error)
    assert remote.branches() == ["main", BRANCH]
    assert len(provider.requests) == 1
    assert first.change_request == second.change_request == third.change_request
    assert len(git(remote.bare, "rev-list", f"main..{BRANCH}").split()) == 1


def test_a_base_changed_since_the_proposal_is_a_conflict_and_nothing_is_overwritten(
    remote: Remote, provider: ProviderEmulator, tmp_path: Path
) -> None:
    remote.commit_on_main(PATH, "kind: Deployment\nreplicas: 2\n")
    executor = make_gitops(remote, tmp_path, provider)
    change = executor.prepare(prepare_request())
    assert change.git_base is not None and change.git_base.blob is not None
    remote.commit_on_main(PATH, "kind: Deployment\nreplicas: 5  # hotfix\n", "hotfix")

    result = executor.apply(apply_request(change), _quiet)

    assert not result.ok and result.failed_step == "conflict"
    assert result.conflict_diff is not None
    assert "-replicas: 2" in result.conflict_diff
    assert "+replicas: 5  # hotfix" in result.conflict_diff
    assert "nothing was committed or pushed" in (result.error or "")
    assert remote.branches() == ["main"] and provider.requests == []
    assert remote.show("main", PATH) == "kind: Deployment\nreplicas: 5  # hotfix\n"


def test_a_file_created_on_the_base_since_the_proposal_is_a_conflict(
    remote: Remote, tmp_path: Path
) -> None:
    executor = make_gitops(remote, tmp_path)
    change = executor.prepare(prepare_request())
    remote.commit_on_main(PATH, "kind: Deployment\n")
    result = executor.apply(apply_request(change), _quiet)
    assert result.failed_step == "conflict" and "+kind: Deployment" in (result.conflict_diff or "")
    assert remote.branches() == ["main"]


def test_a_branch_upstream_with_other_content_is_refused_not_forced(
    remote: Remote, tmp_path: Path
) -> None:
    executor = make_gitops(remote, tmp_path)
    change = executor.prepare(prepare_request())
    git(remote.person, "checkout", "--quiet", "-b", BRANCH)
    (remote.person / "prod/team-a").mkdir(parents=True)
    (remote.person / PATH).write_text("someone else's\n")
    git(remote.person, "add", PATH)
    git(remote.person, "commit", "--quiet", "-m", "squat")
    git(remote.person, "push", "--quiet", "origin", BRANCH)

    result = executor.apply(apply_request(change), _quiet)

    assert not result.ok and result.failed_step == "push"
    assert "not overwritten" in (result.error or "")
    assert remote.show(BRANCH, PATH) == "someone else's\n"


def test_without_a_provider_the_pushed_branch_is_the_result_and_is_followed(
    remote: Remote, tmp_path: Path
) -> None:
    executor = make_gitops(remote, tmp_path)
    change = executor.prepare(prepare_request())
    result: ApplyResult = executor.apply(apply_request(change), _quiet)
    assert result.ok and result.change_request is not None
    assert result.change_request.url is None and result.change_request.provider == "none"
    assert executor.follow(result.change_request) == "open"
    git(remote.bare, "update-ref", "refs/heads/main", result.change_request.commit)
    assert executor.follow(result.change_request) == "merged"

    closed = executor.apply(apply_request(executor.prepare(prepare_request(revision=2))), _quiet)
    assert closed.change_request is not None
    git(remote.bare, "update-ref", "-d", f"refs/heads/{branch_name('p-0000abcd', 2)}")
    assert executor.follow(closed.change_request) == "closed"


def test_a_tampered_manifest_is_refused_before_git_is_touched(
    remote: Remote, tmp_path: Path
) -> None:
    executor = make_gitops(remote, tmp_path)
    change = executor.prepare(prepare_request())
    tampered = change.model_copy(update={"manifest_yaml": change.manifest_yaml + "# extra\n"})
    result = executor.apply(apply_request(tampered), _quiet)
    assert result.failed_step == "render" and remote.branches() == ["main"]


def test_provider_refusals_are_reported_with_the_pushed_branch(
    remote: Remote, provider: ProviderEmulator, tmp_path: Path
) -> None:
    provider.token = "rotated"
    executor = make_gitops(remote, tmp_path, provider)
    result = executor.apply(apply_request(executor.prepare(prepare_request())), _quiet)
    assert not result.ok and result.failed_step == "pull-request"
    assert "401" in (result.error or "") and BRANCH in (result.error or "")
    assert remote.has_branch(BRANCH)


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("file:///srv/git/deploy.git", True),
        ("https://github.com/platform/deploy.git", True),
        ("ssh://git@gitlab.example/platform/deploy.git", True),
        ("git@github.com:platform/deploy.git", True),
        ("/srv/git/deploy.git", False),
        ("--upload-pack=evil", False),
    ],
)
def test_the_repository_setting_takes_git_urls_only(url: str, ok: bool) -> None:
    from pydantic import ValidationError

    from bot.settings import Settings

    if ok:
        assert Settings.load(SIZER_GITOPS_REPO=url).gitops.repo == url
    else:
        with pytest.raises(ValidationError, match="SIZER_GITOPS_REPO"):
            Settings.load(SIZER_GITOPS_REPO=url)


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{cluster}/{team}/{name}.yaml", "unknown placeholder {team}"),
        ("{cluster}/{namespace}.yaml", "must contain {name}"),
        ("../{name}.yaml", "relative, without '..'"),
        ("/abs/{name}.yaml", "relative"),
        ("{name}.json", "end in .yaml"),
    ],
)
def test_a_bad_path_template_names_the_rule(template: str, message: str) -> None:
    from pydantic import ValidationError

    from bot.settings import Settings

    with pytest.raises(ValidationError, match="SIZER_GITOPS_PATH") as caught:
        Settings.load(SIZER_GITOPS_PATH=template)
    assert message in str(caught.value)


def test_a_terraform_plan_goes_into_the_pull_request_and_is_not_applied(
    remote: Remote, provider: ProviderEmulator, tmp_path: Path
) -> None:
    from tests.gitops.conftest import Preparer

    executor = make_gitops(remote, tmp_path, provider)
    executor.preparer = Preparer(plan_dir=tmp_path)
    change = executor.prepare(prepare_request())
    assert change.plan_sha256 is not None
    result = executor.apply(apply_request(change), _quiet)
    assert result.ok
    body = provider.requests[0]["body" if provider.flavour == "github" else "description"]
    assert "Plan: 1 to add, 0 to change, 0 to destroy." in body
    assert f"plan sha256 `{change.plan_sha256}`" in body and "your pipeline applies it" in body
    terraform = next(s for s in result.steps if s.name == "terraform")
    assert terraform.detail.startswith("not applied")
    message = git(remote.bare, "log", "-1", "--format=%B", BRANCH)
    assert f"Terraform-plan-sha256: {change.plan_sha256}" in message


def test_the_size_command_names_its_cluster() -> None:
    from bot.slack.commands import CommandError, SizeCommand, parse

    parsed = parse("size items-api --rps 10-20 --cluster east")
    assert isinstance(parsed, SizeCommand) and parsed.request.cluster == "east"
    with pytest.raises(CommandError, match="--cluster 'East_1' is not a valid Kubernetes name"):
        parse("size items-api --rps 10-20 --cluster East_1")


def test_a_proposal_without_an_image_is_never_pushed(
    remote: Remote, provider: ProviderEmulator, tmp_path: Path
) -> None:
    executor = make_gitops(remote, tmp_path, provider)
    change = executor.prepare(prepare_request(image=None))

    result = executor.apply(apply_request(change), _quiet)

    assert not result.ok and result.failed_step == "render"
    assert result.error is not None and "no container image" in result.error
    assert remote.branches() == ["main"]
