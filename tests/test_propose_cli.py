import json
import os
import sys

import pytest
import yaml

from bot.cli import main
from tools.catalog import load_catalog
from tools.sizing.quantities import parse_cpu, parse_memory


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["propose", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_propose_prints_a_deployment_and_the_reasons(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys,
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
        "--namespace",
        "team-a",
    )
    assert code == 0, err
    manifest, why = out.split("---\n", 1)
    doc = yaml.safe_load(manifest)
    assert doc["kind"] == "Deployment" and doc["metadata"]["namespace"] == "team-a"
    assert doc["spec"]["replicas"] >= 2
    container = doc["spec"]["template"]["spec"]["containers"][0]
    requests = container["resources"]["requests"]
    limits = container["resources"]["limits"]
    assert parse_memory(limits["memory"]) >= parse_memory(requests["memory"])
    assert parse_cpu(requests["cpu"]) > 0
    assert "recommendationservice" in why
    for line in ("replicas: peak", "CPU request:", "Memory request:", "Memory limit:"):
        assert line in why
    assert "# replicas:" not in why and "confidence: confidence" not in why.lower()


def test_propose_json_matches_the_engine(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--name", "cart-v2", "--language", "go", "--rps", "40", "--json")
    assert code == 0
    body = json.loads(out)
    rec = body["recommendation"]
    assert body["request"]["rps_low"] == body["request"]["rps_high"] == 40
    assert rec["replicas"] >= 2 and rec["memory_limit_bytes"] >= rec["memory_request_bytes"]
    assert {r["field"] for r in rec["reasons"]} >= {"replicas", "cpu_request", "memory_request"}


def test_critical_services_get_three_replicas(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "--name", "pay", "--language", "java", "--rps", "1", "--critical", "--json"
    )
    assert code == 0 and json.loads(out)["recommendation"]["replicas"] == 3


def test_a_misspelt_similar_service_is_refused_with_the_name_it_is_close_to(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(
        capsys, "--name", "items-api", "--rps", "5", "--similar", "recommendationservic"
    )
    assert code == 2 and out == ""
    assert err == (
        "sizer propose: --similar: no history for similar service 'recommendationservic' "
        "(did you mean recommendationservice?)\n"
    )


def test_an_unknown_similar_service_far_from_any_name_is_noted_not_fatal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(
        capsys, "--name", "items-api", "--language", "python", "--rps", "5", "--similar", "nope"
    )
    assert code == 0 and "kind: Deployment" in out
    assert "no history for similar service 'nope'" in err and "sized from the other peers" in err
    code, _, err = run(capsys, "--name", "items-api", "--rps", "5", "--similar", "nope", "--strict")
    assert code == 2 and err.startswith("sizer propose: --similar: no history")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--name", "Items_API", "--rps", "5"],
            "--name 'Items_API' is not a valid Kubernetes name",
        ),
        (["--name", "a" * 64, "--rps", "5"], "use 1-63 lower-case letters"),
        (
            ["--name", "items", "--rps", "abc"],
            "--rps 'abc': give a number (80) or a range (50-100)",
        ),
        (["--name", "items", "--rps", "100-50"], "is reversed; write it low-high"),
        (
            ["--name", "items", "--rps", "5", "--messages", "3"],
            "http services are sized from requests per second; drop the messages/s range",
        ),
        (
            ["--name", "items", "--rps", "5", "--language", "cobol"],
            "--language 'cobol' is unknown; use one of: go",
        ),
        (["--name", "items", "--rps", "5", "--kind", "db"], "--kind 'db' is unknown"),
        (["--name", "items", "--rps", "5", "--framework", "Fast API!"], "--framework"),
        (
            ["--name", "items", "--rps", "5", "--language", "python", "--framework", "rails"],
            "--framework: rails is a ruby framework, not python; the python frameworks Sizer "
            "knows are aiohttp, celery, django, fastapi, flask, starlette, tornado",
        ),
        (
            ["--name", "items", "--rps", "5", "--language", "cpp", "--framework", "Spring Boot"],
            "--framework: spring-boot is a java framework, not cpp; Sizer knows no cpp frameworks",
        ),
        (["--name", "items", "--rps", "5", "--history", "/nonexistent"], "cannot read history"),
    ],
)
def test_bad_flags_get_one_line_naming_the_fix(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = run(capsys, *args)
    assert code == 2 and out == ""
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_a_known_framework_gives_its_language_and_any_other_is_kept(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "--name", "items", "--rps", "5", "--framework", "rails", "--json")
    assert code == 0
    assert json.loads(out)["request"].items() >= {"language": "ruby", "framework": "rails"}.items()
    argv = ["--name", "items", "--rps", "5", "--language", "go", "--framework", "chi", "--json"]
    code, out, _ = run(capsys, *argv)
    assert code == 0
    assert json.loads(out)["request"].items() >= {"language": "go", "framework": "chi"}.items()


def test_bundled_catalog_is_the_mit_licensed_history() -> None:
    catalog = load_catalog()
    assert len(catalog) == 54
    assert "nezha-online-boutique" in catalog.source
    assert all(p.meta.system in {"online-boutique", "train-ticket"} for p in catalog)
    assert catalog.get("adservice") is not None


def test_the_image_port_and_probe_reach_the_preview(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["propose", "--name", "items-api", "--rps", "50-100", "--image"]
    assert (
        main([*argv, "ghcr.io/acme/items-api:1.4.2", "--port", "8000", "--probe-path", "/ok"]) == 0
    )
    out = capsys.readouterr().out
    assert "image: ghcr.io/acme/items-api:1.4.2" in out and "# Image: ghcr.io/acme/items-api" in out
    assert "containerPort: 8000" in out and "path: /ok" in out
    assert main(["propose", "--name", "items-api", "--rps", "80"]) == 0
    assert "# Image: not set (give --image)" in capsys.readouterr().out
    assert main(["propose", "--name", "q-worker", "--kind", "worker", "--messages", "5-10"]) == 0
    assert "sized from 5-10 messages/s" in capsys.readouterr().out


def test_a_reader_that_goes_away_ends_the_command_quietly(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # `sizer propose --json | head -c 1`: the pipe closes under the writer.
    read, write = os.pipe()
    os.close(read)
    closed = os.fdopen(write, "w", buffering=1)
    monkeypatch.setattr(sys, "stdout", closed)
    code = main(["propose", "--name", "items-api", "--rps", "50-100", "--json"])
    assert code == 141
    assert "Traceback" not in capsys.readouterr().err


def test_a_mistyped_flag_shows_the_commands_usage_and_the_flag_meant(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["propose", "--name", "items-api", "--rsp", "50"])
    assert exit_.value.code == 2
    usage, _, last = capsys.readouterr().err.rstrip("\n").rpartition("\n")
    assert usage.startswith("usage: sizer propose ") and "--rps RPS" in usage
    assert last == (
        "sizer propose: error: unrecognized arguments: --rsp 50 (--rsp: did you mean --rps?)"
    )
