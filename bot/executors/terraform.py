"""Plan what a service needs from the platform when it is proposed; apply exactly that plan.

``plan`` copies the configuration tree into a working directory of its own per proposal
revision, initialises it against the workload's state (local backend, one state file per
workload so two proposals for it contend on Terraform's own state lock) and saves
``plan -out``. The sha256 of the plan file goes on the card. ``apply`` refuses a plan file
whose hash differs or that is gone, and Terraform itself refuses a plan whose state has
moved on since planning ("stale"), which is reported as :class:`StalePlan`.

python-terraform is old but only shells out: every command gets ``-input=false`` and
``-no-color``, and ``var=None`` is passed explicitly so it never adds ``-var-file`` for its
empty default variables (Terraform rejects variables when applying a saved plan).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import secrets
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict
from python_terraform import IsFlagged, Terraform

from bot.executors.base import PrepareRequest, Progress
from bot.executors.errors import StalePlan, StepFailed
from bot.executors.terraform_engine import BUNDLED, resolve
from bot.settings import ExecutorSettings
from tools.sizing.quantities import format_cpu, format_memory, parse_cpu, parse_memory

__all__ = ["TerraformPlan", "TerraformRunner", "sha256_file", "terraform_variables"]

PLAN_FILE = "proposal.tfplan"
VARS_FILE = "proposal.tfvars.json"


class TerraformPlan(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str
    sha256: str
    summary: str
    changes: int


@contextlib.contextmanager
def _quiet_library() -> Iterator[None]:
    """python-terraform logs through the deprecated ``Logger.warn`` on every non-zero exit."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="python_terraform")
        yield


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def terraform_variables(
    request: PrepareRequest, *, manage_namespace: bool, storage_class: str, headroom: float
) -> dict[str, Any]:
    """Variables of the service root, from the proposal.

    The quota covers the most replicas the workload can run (the HPA ceiling when it has one)
    plus the one surge pod of a rolling update, times ``headroom``.
    """
    replicas = (
        (request.hpa_max_replicas or request.replicas * 2) if request.hpa else request.replicas
    )
    pods = replicas + 1
    scale = pods * headroom

    def cpu(q: str | None) -> str:
        return format_cpu(parse_cpu(q) * scale) if q else ""

    def memory(q: str | None) -> str:
        return format_memory(parse_memory(q) * scale) if q else ""

    storage = ""
    if request.stateful and request.storage_request:
        storage = format_memory(parse_memory(request.storage_request) * replicas * headroom)
    return {
        "proposal_id": request.proposal_id,
        "revision": request.revision,
        "namespace": request.namespace,
        "workload": request.workload,
        "manage_namespace": manage_namespace,
        "labels": dict(request.labels),
        "quota_requests_cpu": cpu(request.cpu_request),
        "quota_requests_memory": memory(request.memory_request),
        "quota_limits_cpu": cpu(request.cpu_limit),
        "quota_limits_memory": memory(request.memory_limit),
        "quota_pods": math.ceil(scale),
        "quota_requests_storage": storage,
        "default_request_cpu": request.cpu_request,
        "default_request_memory": request.memory_request,
        "default_limit_cpu": request.cpu_limit or "",
        "default_limit_memory": request.memory_limit or "",
        "storage_backend": request.storage_backend,
        "storage_class": storage_class,
        "storage_needed": bool(request.stateful and request.storage_request),
        "load_balancer": request.load_balancer,
        "load_balancer_ip": request.load_balancer_ip or "",
        "port": request.port,
    }


def _last_error(text: str) -> str:
    """The part of Terraform's stderr worth showing: from the first 'Error:' on, compacted."""
    start = text.find("Error:")
    body = text[start:] if start >= 0 else text
    lines = [line.strip(" │╷╵") for line in body.splitlines()]
    return " ".join(line for line in lines if line)[:600] or "no output"


def summarize_plan(plan_json: dict[str, Any]) -> tuple[str, int]:
    """One headline and one line per changed resource, the way the card shows them."""
    counts = {"create": 0, "update": 0, "delete": 0}
    lines: list[str] = []
    symbols = {"create": "+", "update": "~", "delete": "-"}
    for change in plan_json.get("resource_changes", []):
        actions = change.get("change", {}).get("actions", [])
        if actions in (["no-op"], ["read"]):
            continue
        for action in actions:
            counts[action] = counts.get(action, 0) + 1
        symbol = "-/+" if set(actions) == {"create", "delete"} else symbols.get(actions[0], "?")
        lines.append(f"  {symbol} {change.get('address')}")
    total = counts["create"] + counts["update"] + counts["delete"]
    head = (
        f"Terraform: {counts['create']} to add, {counts['update']} to change, "
        f"{counts['delete']} to destroy"
        if total
        else "Terraform: no changes"
    )
    return "\n".join([head, *lines]), total


class TerraformRunner:
    """Drives a ``terraform`` executable (the binary, or a launcher) through python-terraform."""

    def __init__(
        self,
        config_dir: Path,
        work_dir: Path,
        *,
        root_module: str = "service",
        terraform_bin: str = BUNDLED,
        lock_timeout_s: int = 30,
    ) -> None:
        self.config_dir = config_dir
        self.work_dir = work_dir
        self.root_module = root_module
        self.terraform_bin = terraform_bin
        self.lock_timeout = f"{lock_timeout_s}s"

    @classmethod
    def from_settings(cls, settings: ExecutorSettings) -> TerraformRunner:
        return cls(
            settings.terraform_dir,
            settings.work_dir / "terraform",
            root_module=settings.terraform_root_module,
            terraform_bin=settings.terraform_bin,
            lock_timeout_s=settings.terraform_lock_timeout_s,
        )

    def state_path(self, namespace: str, workload: str) -> Path:
        return self.work_dir / "state" / namespace / f"{workload}.tfstate"

    def _terraform(self, root: Path) -> Terraform:
        return Terraform(working_dir=str(root), terraform_bin_path=resolve(self.terraform_bin))

    def _run_dir(self, request: PrepareRequest) -> Path:
        """A directory of its own per plan: two edits racing to the same revision number must
        never overwrite each other's saved plan (the stored hash would stop matching)."""
        unique = secrets.token_hex(4)
        return self.work_dir / "runs" / f"{request.proposal_id}-r{request.revision}-{unique}"

    def plan(self, request: PrepareRequest, variables: dict[str, Any]) -> TerraformPlan:
        run_dir = self._run_dir(request)
        if run_dir.exists():
            shutil.rmtree(run_dir)
        try:
            shutil.copytree(self.config_dir, run_dir, ignore=shutil.ignore_patterns(".terraform*"))
        except OSError as exc:
            raise StepFailed("plan", f"cannot copy {self.config_dir}: {exc}") from exc
        root = run_dir / self.root_module
        state = self.state_path(request.namespace, request.workload)
        state.parent.mkdir(parents=True, exist_ok=True)
        (root / VARS_FILE).write_text(json.dumps(variables, indent=2, sort_keys=True))
        tf = self._terraform(root)
        with _quiet_library():
            code, _, err = tf.init(
                backend_config={"path": str(state)},
                var=None,
                lock=True,
                lock_timeout=self.lock_timeout,
            )
            if code != 0:
                raise StepFailed("plan", f"terraform init failed: {_last_error(err)}")
            code, _, err = tf.plan(
                out=PLAN_FILE,
                var=None,
                var_file=VARS_FILE,
                lock=True,
                lock_timeout=self.lock_timeout,
                detailed_exitcode=IsFlagged,
            )
            if code not in (0, 2):
                raise StepFailed("plan", f"terraform plan failed: {_last_error(err)}")
            code, out, err = tf.cmd("show", PLAN_FILE, json=IsFlagged, var=None)
            if code != 0:
                raise StepFailed("plan", f"terraform show failed: {_last_error(err)}")
        summary, changes = summarize_plan(json.loads(out))
        plan_path = root / PLAN_FILE
        return TerraformPlan(
            path=str(plan_path), sha256=sha256_file(plan_path), summary=summary, changes=changes
        )

    def apply(self, plan_path: str, plan_sha256: str, progress: Progress) -> str:
        path = Path(plan_path)
        if not path.is_file():
            raise StalePlan("terraform", f"saved plan {path.name} is gone; propose again")
        if sha256_file(path) != plan_sha256:
            raise StalePlan("terraform", "saved plan changed since it was shown; propose again")
        progress(f"terraform: applying saved plan (sha256 {plan_sha256[:12]})")
        tf = self._terraform(path.parent)
        with _quiet_library():
            code, out, err = tf.apply(
                path.name, var=None, lock=True, lock_timeout=self.lock_timeout
            )
        if code != 0:
            if "stale" in err.lower():
                raise StalePlan(
                    "terraform",
                    "the Terraform state changed since this plan was made; propose again",
                )
            if "acquiring the state lock" in err:
                raise StepFailed(
                    "terraform",
                    "the workload's Terraform state is locked by another run; nothing was "
                    f"applied, approve again when it has finished ({_last_error(err)})",
                )
            raise StepFailed(
                "terraform",
                f"terraform apply failed: {_last_error(err)} (part of the plan may have been "
                "applied before the error; the workload's Terraform state records what was)",
            )
        done = next(
            (line for line in out.splitlines() if line.startswith("Apply complete!")),
            "Apply complete.",
        )
        progress(f"terraform: {done}")
        return done
