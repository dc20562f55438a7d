"""Render a proposal into its Kubernetes manifest with the Ansible playbook, via ansible-runner.

Each run gets a private data dir of its own, so concurrent renders never share artifacts or
facts; the playbook is referenced by name from the configured playbooks directory. Task starts
and failures are relayed to ``progress`` as they happen, so the Slack thread shows them live.

User data never becomes code. Ansible evaluates Jinja in the variables it is given, so two
barriers stand between a proposal and a template: the input check refuses anything that is not
a name, a quantity or an image reference, and every string (keys included) is handed to the
playbook tagged ``!unsafe``, which Ansible never templates. A field added later is covered by
the second barrier whether or not anyone remembers to check it.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import ansible_runner
import yaml

from bot.executors.base import PrepareRequest, Progress
from bot.executors.errors import StepFailed
from bot.settings import ExecutorSettings
from tools.sizing.quantities import QuantityError, parse_cpu, parse_memory

__all__ = ["PLAYBOOK", "AnsibleRenderer", "render_variables", "unsafe_extravars"]

PLAYBOOK = "render_workload.yml"
STEP = "render"

_DNS1123_LABEL = re.compile(r"\A[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\Z")
_IMAGE = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._/:@-]{0,254}\Z")
_LABEL_KEY = re.compile(r"\A([a-z0-9.-]{1,253}/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?\Z")
_LABEL_VALUE = re.compile(r"\A([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?\Z")
_PROPOSAL_ID = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,62}\Z")
_PATH_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


class _UnsafeDumper(yaml.SafeDumper):
    """Dumps every string as ``!unsafe``, so Ansible never evaluates ``{{ }}`` or ``{% %}``."""


def _represent_unsafe(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("!unsafe", str(value), style="'")


_UnsafeDumper.add_representer(str, _represent_unsafe)


def unsafe_extravars(variables: dict[str, Any]) -> str:
    """``variables`` as an Ansible extra-vars YAML document with every string ``!unsafe``."""
    return yaml.dump(variables, Dumper=_UnsafeDumper, sort_keys=True, allow_unicode=True)


def _check(request: PrepareRequest) -> None:
    """Refuse input the templates must never see; the edge checks too, this is the last line."""
    problems: list[str] = []
    for field in ("workload", "namespace"):
        value = getattr(request, field)
        if not _DNS1123_LABEL.fullmatch(value):
            problems.append(f"{field} {value!r} is not a DNS-1123 label")
    if not _PROPOSAL_ID.fullmatch(request.proposal_id):
        problems.append(f"proposal id {request.proposal_id!r} has unexpected characters")
    if request.image is not None and not _IMAGE.fullmatch(request.image):
        problems.append(f"image {request.image!r} is not an image reference")
    for key, value in request.labels.items():
        if not _LABEL_KEY.fullmatch(key) or not _LABEL_VALUE.fullmatch(value):
            problems.append(f"label {key}={value} is not a valid Kubernetes label")
    try:
        parse_cpu(request.cpu_request)
        parse_memory(request.memory_request)
        if request.cpu_limit is not None:
            parse_cpu(request.cpu_limit)
        if request.memory_limit is not None:
            parse_memory(request.memory_limit)
        if request.storage_request is not None:
            parse_memory(request.storage_request)
    except QuantityError as exc:
        problems.append(str(exc))
    if request.stateful and not request.storage_request:
        problems.append("a stateful workload needs storage_request")
    if problems:
        raise StepFailed(STEP, "; ".join(problems))


def render_variables(
    request: PrepareRequest, *, topology_key: str, storage_class: str
) -> dict[str, Any]:
    """The playbook's ``workload`` variable: the proposal, flattened for the templates."""
    return {
        "proposal_id": request.proposal_id,
        "revision": request.revision,
        "name": request.workload,
        "namespace": request.namespace,
        "image": request.image or "",
        "replicas": request.replicas,
        "cpu_request": request.cpu_request,
        "cpu_limit": request.cpu_limit or "",
        "memory_request": request.memory_request,
        "memory_limit": request.memory_limit or "",
        "stateful": request.stateful,
        "storage_request": request.storage_request or "",
        "storage_class": storage_class,
        "hpa": request.hpa,
        "hpa_max_replicas": request.hpa_max_replicas or request.replicas * 2,
        "hpa_cpu_utilization": request.hpa_cpu_utilization,
        "labels": dict(request.labels),
        "port": request.port,
        "probe_path": request.probe_path or "",
        "topology_key": topology_key,
    }


class _EventRelay:
    """Turns ansible-runner events into progress lines and remembers the first failure."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self.failure: str | None = None

    def __call__(self, event: dict[str, Any]) -> bool:
        data = event.get("event_data") or {}
        task = data.get("task") or "?"
        kind = event.get("event")
        if kind == "playbook_on_task_start":
            self._progress(f"render: {task}")
        elif kind in ("runner_on_failed", "runner_on_unreachable") and self.failure is None:
            result = data.get("res") or {}
            message = result.get("msg") or result.get("stderr") or "no message"
            self.failure = f"task {task!r} failed: {message}"
            self._progress(f"render: {self.failure}")
        return True


class AnsibleRenderer:
    """Runs ``render_workload.yml`` on localhost and returns the manifest it wrote."""

    def __init__(
        self,
        playbooks_dir: Path,
        work_dir: Path,
        *,
        topology_key: str = "kubernetes.io/hostname",
        storage_classes: dict[str, str] | None = None,
        playbook: str = PLAYBOOK,
        check_inputs: bool = True,
    ) -> None:
        """``check_inputs=False`` skips the input check; tests use it to show the second barrier
        (every value reaches Ansible as unsafe) holds on its own."""
        self.check_inputs = check_inputs
        self.playbooks_dir = playbooks_dir
        self.work_dir = work_dir
        self.topology_key = topology_key
        self.storage_classes = storage_classes or {"ceph": "ceph-rbd", "nfs": "nfs-client"}
        self.playbook = playbook

    @classmethod
    def from_settings(cls, settings: ExecutorSettings) -> AnsibleRenderer:
        return cls(
            settings.playbooks_dir,
            settings.work_dir / "ansible",
            topology_key=settings.topology_key,
            storage_classes=settings.storage_classes,
        )

    def render(self, request: PrepareRequest, progress: Progress) -> str:
        if self.check_inputs:
            _check(request)
        if not (self.playbooks_dir / self.playbook).is_file():
            raise StepFailed(STEP, f"playbook {self.playbook} not found in {self.playbooks_dir}")
        storage_class = self.storage_classes.get(request.storage_backend)
        if storage_class is None:
            raise StepFailed(STEP, f"no storage class configured for {request.storage_backend}")
        self.work_dir.mkdir(parents=True, exist_ok=True)
        # The id is only a hint in the directory name, never a path of its own.
        hint = _PATH_UNSAFE.sub("_", request.proposal_id)[:40]
        run_dir = Path(tempfile.mkdtemp(prefix=f"{hint}-r{request.revision}-", dir=self.work_dir))
        output = run_dir / "manifest.yaml"
        relay = _EventRelay(progress)
        variables = render_variables(
            request, topology_key=self.topology_key, storage_class=storage_class
        )
        # ansible-runner passes env/extravars with -e @file; written here, not by the runner
        # (which would dump plain JSON), so every value carries the !unsafe tag.
        env_dir = run_dir / "env"
        env_dir.mkdir()
        extravars = {"workload": variables, "output_path": str(output)}
        (env_dir / "extravars").write_text(unsafe_extravars(extravars), encoding="utf-8")
        result = ansible_runner.run(
            private_data_dir=str(run_dir),
            project_dir=str(self.playbooks_dir),
            playbook=self.playbook,
            inventory={"all": {"hosts": {"localhost": {"ansible_connection": "local"}}}},
            envvars=self._environment(),
            event_handler=relay,
            quiet=True,
        )
        if result.status != "successful" or not output.is_file():
            detail = relay.failure or f"ansible-playbook ended {result.status} (rc {result.rc})"
            raise StepFailed(STEP, f"{detail} (artifacts kept in {run_dir})")
        manifest = output.read_text(encoding="utf-8")
        shutil.rmtree(run_dir, ignore_errors=True)
        return manifest if manifest.endswith("\n") else manifest + "\n"

    @staticmethod
    def _environment() -> dict[str, str]:
        # ansible-playbook is installed beside this interpreter, which may not be on PATH.
        bin_dir = str(Path(sys.executable).parent)
        return {
            "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "")]),
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
            "ANSIBLE_LOCALHOST_WARNING": "False",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
            "ANSIBLE_NOCOLOR": "True",
        }
