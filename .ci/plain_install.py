"""Install Sizer into a fresh venv WITHOUT extras and run every command README documents.

A green suite that installs the test extra can hide a runtime dependency that only the extra
brings; this runs what a new user runs, from a plain ``pip install -e .``, and fails on any
traceback or unexpected exit status. The Slack Web API and the Kubernetes API are the test
emulators (run here, in the test venv); Redis and Prometheus are real.

Usage (from the repository root, with the test venv's python): ``python .ci/plain_install.py``.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRACES = ROOT.parent / "shared" / "traces"
TRACE = TRACES / "nezha-online-boutique"
sys.path.insert(0, str(ROOT))

from tests.emulators.kube_api import KubeEmulator  # noqa: E402
from tests.emulators.slack_api import SlackEmulator  # noqa: E402


class Failed(Exception):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(
    url: str, timeout_s: float = 120, ok: Sequence[int] = (200,), body: bytes | None = None
) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, data=body, timeout=2) as response:
                if response.status in ok:
                    return int(response.status)
        except urllib.error.HTTPError as exc:
            if exc.code in ok:
                return exc.code
        except OSError:
            pass
        time.sleep(0.3)
    raise Failed(f"{url} did not answer {list(ok)} within {timeout_s:.0f} s")


class Plain:
    def __init__(self, work: Path, venv: Path | None = None) -> None:
        self.work = work
        self.venv = venv or work / "venv"
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SIZER_", "SLACK_", "OPENAI_", "PROMETHEUS_"))
            and k not in ("KUBECONFIG", "REDIS_URL", "VIRTUAL_ENV")
        }
        self.env["SIZER_REDIS_PREFIX"] = f"ci-plain-{secrets.token_hex(4)}:"
        self.env["SIZER_WORK_DIR"] = str(work / "state")
        self.env["PATH"] = f"{self.venv / 'bin'}:{self.env.get('PATH', '')}"
        self.ran: list[str] = []

    def install(self) -> None:
        if not (self.venv / "bin" / "sizer").exists():
            subprocess.run([sys.executable, "-m", "venv", str(self.venv)], check=True)
            pip = [str(self.venv / "bin" / "python"), "-m", "pip", "install", "-q"]
            for step in ([*pip, "--upgrade", "pip"], [*pip, "-e", str(ROOT)]):
                done = subprocess.run(step, capture_output=True, text=True, check=False)
                if done.returncode != 0:
                    raise Failed(f"{' '.join(step)} failed:\n{done.stdout}\n{done.stderr}")
        extras = subprocess.run(
            [str(self.venv / "bin" / "python"), "-m", "pip", "list", "--format=json"],
            check=True,
            capture_output=True,
            text=True,
        )
        names = {p["name"].lower() for p in json.loads(extras.stdout)}
        leaked = names & {"pytest", "hypothesis", "mypy", "ruff", "import-linter", "types-pyyaml"}
        if leaked:
            raise Failed(f"a plain install brought test tools: {sorted(leaked)}")

    def sizer(
        self, *args: str, expect: Sequence[int] = (0,), env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        argv = [str(self.venv / "bin" / "sizer"), *args]
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            env={**self.env, **(env or {})},
            cwd=self.work,
            timeout=600,
            check=False,
        )
        shown = " ".join(args)[:100]
        self.ran.append(f"sizer {shown} -> {done.returncode}")
        if "Traceback" in done.stderr or "Traceback" in done.stdout:
            raise Failed(f"sizer {shown}: traceback\n{done.stderr[-3000:]}")
        if done.returncode not in expect:
            raise Failed(
                f"sizer {shown}: exit {done.returncode}, expected {list(expect)}\n"
                f"{done.stdout[-1500:]}\n{done.stderr[-1500:]}"
            )
        return done


def offline_commands(plain: Plain) -> None:
    plain.sizer("--help")
    for command in (
        "propose",
        "ask",
        "backtest",
        "catalog",
        "audit",
        "load-trace",
        "verify",
        "worker",
        "export-finetune",
        "config-reference",
    ):
        plain.sizer(command, "--help")
    readme = plain.sizer(
        "propose",
        "--name",
        "items-api",
        "--language",
        "python",
        "--framework",
        "fastapi",
        "--rps",
        "50-100",
        "--similar",
        "recommendationservice",
    )
    if "kind: Deployment" not in readme.stdout:
        raise Failed("sizer propose printed no Deployment")
    as_json = plain.sizer(
        "propose", "--name", "cart-api", "--language", "go", "--rps", "80", "--json"
    )
    json.loads(as_json.stdout)
    bad = plain.sizer("propose", "--name", "Items_API", "--rps", "abc", expect=(2,))
    if len(bad.stderr.strip().splitlines()) != 1:
        raise Failed(f"bad input should be one line, got:\n{bad.stderr}")
    plain.sizer("ask", "size `items-api`, FastAPI, ~80 rps, like recommendationservice")
    plain.sizer("ask", "why so much memory?")
    plain.sizer(
        "backtest",
        str(TRACE),
        "--mode",
        "rightsize",
        "--quiet",
        "--json",
        str(plain.work / "rightsize.json"),
    )
    plain.sizer("backtest", str(TRACE), "--mode", "cold-start", "--quiet")
    plain.sizer("catalog", str(TRACE), "--out", str(plain.work / "catalog.json"))
    plain.sizer("audit")
    plain.sizer("export-finetune", str(plain.work / "outcomes.jsonl"))
    plain.sizer("config-reference", "--check", str(ROOT / "README.md"))
    plain.sizer("backtest", str(TRACE), "--mode", "loop", "--check-every", "6h", "--quiet")


def verify_against_prometheus(plain: Plain) -> None:
    data = plain.work / "prom"
    plain.sizer("load-trace", str(TRACE), "--prometheus-data", str(data), "--shift-to-now")
    port = free_port()
    server = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={ROOT / '.ci' / 'prometheus-empty.yml'}",
            f"--storage.tsdb.path={data}",
            "--storage.tsdb.retention.time=10y",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/-/ready")
        plain.sizer(
            "verify", "cartservice", "--since", "12h", expect=(0, 1), env={"PROMETHEUS_URL": url}
        )
        plain.sizer(
            "verify", "no-such-service", "--since", "12h", expect=(1,), env={"PROMETHEUS_URL": url}
        )
    finally:
        server.terminate()
        server.wait(timeout=30)


def serve_http(plain: Plain) -> None:
    slack = SlackEmulator().start()
    kube = KubeEmulator()
    for index in range(3):
        kube.add_node(f"hv-{index + 1}", cpu="8", memory="32Gi")
    kube.add_namespace("team-a")
    kube.start()
    kubeconfig = kube.write_kubeconfig(plain.work / "kubeconfig")
    port = free_port()
    env = {
        **plain.env,
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": "ci-signing-secret",
        "SLACK_API_URL": slack.url,
        "KUBECONFIG": str(kubeconfig),
        "SIZER_HEALTH_PORT": str(free_port()),
    }
    log = plain.work / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [str(plain.venv / "bin" / "sizer"), "serve", "--http", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=plain.work,
        )
    try:
        # An unsigned request is refused: the app is up and verifying signatures.
        status = wait_http(
            f"http://127.0.0.1:{port}/slack/events", ok=(401,), body=b'{"type": "ping"}'
        )
        plain.ran.append(f"sizer serve --http -> ready (unsigned request answered {status})")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            code = server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            code = -9
        slack.stop()
        kube.stop()
    text = log.read_text()
    if "Traceback" in text:
        raise Failed(f"sizer serve: traceback\n{text[-3000:]}")
    if code != 0:
        raise Failed(f"sizer serve exited {code} on SIGTERM\n{text[-2000:]}")


def main() -> int:
    if not TRACE.is_dir():
        print(f"plain-install: {TRACE} is missing (shared/ must sit beside the repository)")
        return 1
    work = Path(tempfile.mkdtemp(prefix="sizer-plain-"))
    # An existing venv may be named to re-run the commands without reinstalling.
    plain = Plain(work, Path(sys.argv[1]) if len(sys.argv) > 1 else None)
    try:
        plain.install()
        offline_commands(plain)
        verify_against_prometheus(plain)
        serve_http(plain)
    except Failed as exc:
        print("\n".join(plain.ran))
        print(f"plain-install: FAILED: {exc}")
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("\n".join(plain.ran))
    print(f"plain-install: {len(plain.ran)} commands from a plain install, no traceback")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
