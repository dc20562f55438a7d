import kubernetes_validate
import pytest

from tools.catalog import load_catalog
from tools.manifest import deployment
from tools.propose import SizeRequest, propose
from tools.sizing.models import Policy

KUBERNETES_VERSION = "1.30"


@pytest.mark.parametrize(
    "policy", [Policy(), Policy(cpu_limit="burst", memory_limit="equal-request")]
)
def test_preview_is_a_valid_deployment(policy: Policy) -> None:
    rec = propose(
        SizeRequest(name="items-api", language="python", rps_low=50, rps_high=100),
        load_catalog(),
        policy,
    )
    doc = deployment(rec, "team-a")
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    resources = doc["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert ("cpu" in resources["limits"]) == (policy.cpu_limit == "burst")
    if policy.memory_limit == "equal-request":
        assert resources["limits"]["memory"] == resources["requests"]["memory"]


def test_invalid_preview_is_caught_by_the_schema() -> None:
    rec = propose(SizeRequest(name="a", rps_low=1, rps_high=1), load_catalog(), Policy())
    doc = deployment(rec, "team-a")
    doc["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
