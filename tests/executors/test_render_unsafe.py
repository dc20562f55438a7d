"""Ansible never evaluates what a proposal carries: every value reaches the playbook unsafe.

The input check refuses template syntax first; these tests build the renderer without that
check, so they prove the second barrier on its own: a Jinja payload in any field is rendered
literally or refused, and the command in it never runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.executors.ansible import AnsibleRenderer
from bot.executors.errors import StepFailed
from bot.settings import Settings
from tests.executors.conftest import proposal

# Fields whose text reaches a template; name and namespace are tested apart (the playbook's
# own assertion may refuse them).
TEXT_FIELDS = (
    "proposal_id",
    "image",
    "cpu_request",
    "cpu_limit",
    "memory_request",
    "memory_limit",
    "storage_request",
)


def _payload(marker: Path, field: str) -> str:
    return f"{{{{ lookup('pipe', 'id; touch {marker}-{field}') }}}}"


def _renderer(
    settings: Settings,
    tmp_path: Path,
    topology_key: str | None = None,
    storage_class: str | None = None,
) -> AnsibleRenderer:
    executor = settings.executor
    classes = dict(executor.storage_classes)
    if storage_class is not None:
        classes["ceph"] = storage_class
    return AnsibleRenderer(
        executor.playbooks_dir,
        tmp_path / "runs",
        topology_key=topology_key or executor.topology_key,
        storage_classes=classes,
        check_inputs=False,
    )


def _ran(marker: Path) -> list[str]:
    return sorted(p.name for p in marker.parent.glob(marker.name + "-*"))


def test_jinja_in_every_text_field_renders_literally(settings: Settings, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    values = {field: _payload(marker, field) for field in TEXT_FIELDS}
    request = proposal(
        **values,
        stateful=True,
        labels={_payload(marker, "label-key"): _payload(marker, "label-value")},
    )

    topology, storage = _payload(marker, "topology"), _payload(marker, "storage-class")
    renderer = _renderer(settings, tmp_path, topology, storage)
    manifest = renderer.render(request, lambda _: None)

    assert _ran(marker) == []
    docs = list(yaml.safe_load_all(manifest))
    workload = docs[0]
    pod = workload["spec"]["template"]
    container = pod["spec"]["containers"][0]
    assert container["image"] == values["image"]
    assert container["resources"] == {
        "requests": {"cpu": values["cpu_request"], "memory": values["memory_request"]},
        "limits": {"cpu": values["cpu_limit"], "memory": values["memory_limit"]},
    }
    claim = workload["spec"]["volumeClaimTemplates"][0]["spec"]
    assert claim["resources"]["requests"]["storage"] == values["storage_request"]
    assert claim["storageClassName"] == storage
    assert pod["spec"]["topologySpreadConstraints"][0]["topologyKey"] == topology
    assert pod["metadata"]["annotations"]["sizer.dev/proposal-id"] == values["proposal_id"]
    assert pod["metadata"]["labels"][_payload(marker, "label-key")] == _payload(
        marker, "label-value"
    )


@pytest.mark.parametrize("field", ["workload", "namespace"])
def test_jinja_in_a_name_is_refused_or_literal(
    settings: Settings, tmp_path: Path, field: str
) -> None:
    marker = tmp_path / "ran"
    payload = _payload(marker, field)
    try:
        manifest = _renderer(settings, tmp_path).render(
            proposal(**{field: payload}), lambda _: None
        )
    except StepFailed as exc:
        assert exc.step == "render"
    else:
        key = "name" if field == "workload" else "namespace"
        assert yaml.safe_load_all(manifest).__next__()["metadata"][key] == payload
    assert _ran(marker) == []


def test_a_trailing_newline_is_refused_by_the_playbook_too(
    settings: Settings, tmp_path: Path
) -> None:
    with pytest.raises(StepFailed, match="not renderable"):
        _renderer(settings, tmp_path).render(proposal(workload="nl-api\n"), lambda _: None)
