"""Tools grouped by capability: a toolset that cannot run is left out, once, when it is built;
every tool answers with a typed payload, serialised only in the tool message."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from pydantic import BaseModel

from bot.agent.llm import LlmAgent, chat_model
from bot.agent.payloads import (
    CheckRow,
    FitPayload,
    MatchPayload,
    NodeRow,
    Payload,
    ProposalPayload,
    QuotaRow,
    SimilarRow,
    SizedPayload,
    UsagePayload,
    VerifyPayload,
    WorkloadRow,
)
from bot.agent.planner import Planner
from bot.agent.toolsets import BaseToolset, Capabilities, Toolset, Turn, toolsets_for
from bot.agent.toolsets.cluster import NO_CLUSTER, ClusterToolset
from bot.agent.toolsets.metrics import NO_METRICS
from bot.agent.toolsets.proposals import NO_PROPOSALS
from tests.agent.doubles import FakeHistory, bundled, capabilities, verification
from tests.emulators.openai_api import OpenAIEmulator
from tools.catalog import PeerCatalog
from tools.sizing.models import PodSeries, Policy, UsageHistory

CLUSTER_TOOLS = {"cluster_capacity", "namespace_quotas", "list_workloads", "check_fit"}
METRICS_TOOLS = {"usage_history", "verify_workload"}
PROPOSAL_TOOLS = {
    "explain",
    "render_proposal",
    "submit_proposal",
    "edit_proposal",
    "proposal_status",
}
SIZE = {"name": "items-api", "rps_low": 50, "rps_high": 100}


def turn() -> Turn:
    return Turn(user="U1", channel="C1", thread_ts="1.0", max_calls=100)


def history() -> FakeHistory:
    stamps = np.arange(0, 6 * 3600, 60, dtype=np.int64)
    pod = PodSeries(
        "api-1",
        stamps,
        np.full(len(stamps), 0.2),
        np.full(len(stamps), 300.0 * 2**20),
        np.full(len(stamps), np.nan),
    )
    return FakeHistory(history=UsageHistory("api", (pod,)), verification=verification())


# --- disabled toolsets ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("missing", "tools", "reason"),
    [
        ("cluster", CLUSTER_TOOLS, NO_CLUSTER),
        ("history", METRICS_TOOLS, NO_METRICS),
        ("proposals", PROPOSAL_TOOLS, NO_PROPOSALS),
    ],
)
def test_a_toolset_without_its_capability_is_off_and_says_why(
    missing: str, tools: set[str], reason: str
) -> None:
    toolset = Toolset(capabilities(**{missing: None}))
    assert not tools & set(toolset.tools)
    assert toolset.disabled == dict.fromkeys(tools, reason)
    t = turn()
    for name in tools:
        result = toolset.call(name, {}, t)
        assert (result.status, result.error) == ("no_data", reason), name
    assert [name for name, _, _ in t.calls] == list(tools)


def test_a_disabled_toolset_is_not_offered_to_the_model(llm: OpenAIEmulator) -> None:
    toolset = Toolset(Capabilities(catalog=bundled, policy=Policy()))
    llm.reply("I can size new services; I cannot see a cluster from here.")
    agent = LlmAgent(chat_model(llm.base_url, "t", "m", 5), toolset)
    agent.respond("what can you do?", "U", "C", "1")
    offered = {t["function"]["name"] for t in llm.requests[0]["tools"]}
    assert offered == {"find_similar", "match_service", "recommend"}


def test_the_planner_hears_the_reason_checked_at_build() -> None:
    caps = capabilities(cluster=None, history=None)
    planner = Planner(Toolset(caps))
    assert planner.respond("how much room is there?", "U", "C", "1").text == NO_CLUSTER
    answer = planner.respond("verify api in team-a", "U", "C", "1")
    assert answer.text == f"I cannot verify `api`: {NO_METRICS}"


class CountingCluster(ClusterToolset):
    checks = 0

    def check_prerequisites(self) -> str | None:
        type(self).checks += 1
        return super().check_prerequisites()


def counting(caps: Capabilities) -> list[BaseToolset]:
    rest = [t for t in toolsets_for(caps) if not isinstance(t, ClusterToolset)]
    return [CountingCluster(caps.cluster, caps.proposals), *rest]


def test_prerequisites_are_checked_once_when_built() -> None:
    CountingCluster.checks = 0
    caps = capabilities(cluster=None)
    toolset = Toolset(caps, toolsets=counting)
    assert CountingCluster.checks == 1
    t = turn()
    for _ in range(3):
        assert toolset.call("cluster_capacity", {}, t).error == NO_CLUSTER
        assert toolset.call("check_fit", {"replicas": 2}, t).error == NO_CLUSTER
    assert CountingCluster.checks == 1
    # What was found at build time holds: a cluster set later does not switch it on.
    caps.cluster = capabilities().cluster
    assert toolset.call("cluster_capacity", {}, t).status == "no_data"
    assert "cluster_capacity" not in toolset.tools and CountingCluster.checks == 1


def test_building_the_tools_does_not_read_the_catalog() -> None:
    reads: list[int] = []

    def catalog() -> PeerCatalog:
        reads.append(1)
        return bundled()

    toolset = Toolset(capabilities(catalog=catalog))
    assert reads == [] and "recommend" in toolset.tools
    assert toolset.call("recommend", SIZE, turn()).status == "ok"
    assert toolset.call("find_similar", {"like": "emailservice"}, turn()).status == "ok"
    assert len(reads) == 2


def test_an_unknown_tool_lists_only_what_is_offered() -> None:
    toolset = Toolset(Capabilities(catalog=bundled, policy=Policy()))
    result = toolset.call("apply_proposal", {}, turn())
    assert result.status == "error"
    assert (
        result.error
        == "no tool 'apply_proposal'; use one of: find_similar, match_service, recommend"
    )


# --- typed payloads ------------------------------------------------------------------------

CALLS: dict[str, tuple[dict[str, Any], type[BaseModel]]] = {
    "cluster_capacity": ({}, NodeRow),
    "namespace_quotas": ({"namespace": "team-a"}, QuotaRow),
    "list_workloads": ({"namespace": "team-a"}, WorkloadRow),
    "check_fit": ({"replicas": 2, "cpu_request": "500m", "memory_request": "1Gi"}, FitPayload),
    "find_similar": ({"like": "emailservice", "limit": 3}, SimilarRow),
    "match_service": ({"service": "the cart service"}, MatchPayload),
    "recommend": (SIZE, SizedPayload),
    "usage_history": ({"name": "api", "namespace": "team-a"}, UsagePayload),
    "verify_workload": ({"name": "api", "namespace": "team-a"}, VerifyPayload),
    "submit_proposal": (SIZE, ProposalPayload),
    "explain": ({"target": "items-api"}, ProposalPayload),
    "render_proposal": ({"proposal_id": "p-000000a0"}, ProposalPayload),
    "edit_proposal": ({"proposal_id": "p-000000a0", "replicas": 3}, ProposalPayload),
    "proposal_status": ({"proposal_id": "p-000000a0"}, ProposalPayload),
}


def full_toolset() -> tuple[Toolset, Turn]:
    toolset = Toolset(capabilities(history=history()))
    t = turn()
    assert toolset.call("submit_proposal", SIZE, t).status == "approval_required"
    return toolset, t


def test_the_payload_table_covers_every_tool() -> None:
    toolset, _ = full_toolset()
    assert set(CALLS) == set(toolset.tools) and toolset.disabled == {}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_every_tool_answers_with_a_typed_payload(name: str) -> None:
    toolset, t = full_toolset()
    args, kind = CALLS[name]
    result = toolset.call(name, args, t)
    assert result.status in ("ok", "approval_required"), result
    rows = result.data if isinstance(result.data, tuple) else (result.data,)
    assert rows and all(isinstance(row, kind) for row in rows), result.data
    # The tool message is those payloads as JSON, and nothing else.
    body = json.loads(result.text())
    shown = body["data"] if isinstance(result.data, tuple) else [body["data"]]
    assert shown == [row.plain() for row in rows]


def test_rows_show_unknown_values_as_null_and_payloads_leave_them_out() -> None:
    toolset, t = full_toolset()
    workloads = json.loads(toolset.call("list_workloads", {}, t).text())["data"][0]
    assert workloads["cpu_limit"] is None and "annotations" not in workloads
    report = toolset.call("verify_workload", {"name": "api", "namespace": "team-a"}, t)
    assert isinstance(report.data, VerifyPayload)
    assert report.data.checks[1] == CheckRow(
        goal="cpu-slack", status="fail", detail="requests 25% above the p95"
    )
    shown = json.loads(report.text())["data"]
    assert shown["memory_request"] is None and shown["memory_p95"] == "200Mi"
    assert shown["checks"][0] == {"goal": "no-oom", "status": "pass", "detail": "no OOM kill"}
    sized = json.loads(toolset.call("recommend", SIZE, t).text())["data"]
    assert "cpu_limit" not in sized and sized["stored"] is False


def test_the_planner_reads_the_verification_fields() -> None:
    planner = Planner(Toolset(capabilities(history=history())))
    answer = planner.respond("verify api in team-a", "U", "C", "1")
    assert answer.text.splitlines() == [
        "`team-a/api` over the last day: goals not met. Requests CPU 250m, memory None; "
        "p95 use CPU 200m, memory 200Mi; OOM kills 0, restarts 1.",
        "• no-oom: pass — no OOM kill",
        "• cpu-slack: fail — requests 25% above the p95",
    ]


def test_every_payload_is_a_frozen_model() -> None:
    for kind in {kind for _, kind in CALLS.values()} | {CheckRow}:
        assert issubclass(kind, Payload) and kind.model_config.get("frozen") is True, kind
