"""A server at PROMETHEUS_URL answering 200 with the wrong shape: one error, never a traceback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest

from bot.agent.history import PrometheusHistory
from bot.agent.toolsets import Capabilities, Toolset, Turn
from bot.cli import main
from tests.agent.doubles import bundled
from tests.emulators.loopback import serve, shutdown, url_of
from tools.prometheus import (
    MalformedResponse,
    MetricSchema,
    PrometheusClient,
    PrometheusError,
    PrometheusTarget,
)
from tools.sizing.models import Policy

VECTOR_OK = {"metric": {"pod": "a"}, "value": [1700000000, "1"]}
SHAPES = {
    "not json": "<<not json>>",
    "a list": "[]",
    "no data": json.dumps({"status": "success"}),
    "data null": json.dumps({"status": "success", "data": None}),
    "result a string": json.dumps({"status": "success", "data": {"result": "x"}}),
    "a scalar": json.dumps(
        {"status": "success", "data": {"resultType": "scalar", "result": [1, "2"]}}
    ),
    "item without metric": json.dumps({"data": {"result": [{"value": [1, "2"]}]}}),
    "value null": json.dumps({"data": {"result": [{"metric": {}, "value": [1, None]}]}}),
    "value a bool": json.dumps({"data": {"result": [{"metric": {}, "value": [1, True]}]}}),
    "value too short": json.dumps({"data": {"result": [{"metric": {}, "value": [1]}]}}),
    "value not a float": json.dumps({"data": {"result": [{"metric": {}, "value": [1, "x"]}]}}),
    "labels not strings": json.dumps(
        {"data": {"result": [{"metric": {"pod": 3}, "value": [1, "2"]}]}}
    ),
    "values empty": json.dumps({"data": {"result": [{"metric": {}, "values": []}]}}),
    "values a dict": json.dumps({"data": {"result": [{"metric": {}, "values": {"a": 1}}]}}),
    "mixed": json.dumps({"data": {"result": [VECTOR_OK, None]}}),
}


class WrongShape:
    """Answers every query with one scripted body, status 200."""

    def __init__(self) -> None:
        self.body = "{}"
        self.queries = 0
        shape = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                return None

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                shape.queries += 1
                data = shape.body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST

        self.server = serve(Handler)
        self.url = url_of(self.server)


@pytest.fixture
def wrong() -> Iterator[WrongShape]:
    server = WrongShape()
    yield server
    shutdown(server.server)


@pytest.mark.parametrize("body", SHAPES.values(), ids=SHAPES.keys())
def test_client_maps_every_wrong_shape_to_malformed_response(wrong: WrongShape, body: str) -> None:
    wrong.body = body
    with PrometheusClient(PrometheusTarget(url=wrong.url, source="X"), timeout_s=5) as client:
        for query in (client.instant, client.samples):
            with pytest.raises(MalformedResponse, match="not a query result") as caught:
                query("up")
            assert wrong.url in str(caught.value) and len(str(caught.value)) < 400


def test_a_good_answer_still_reads(wrong: WrongShape) -> None:
    wrong.body = json.dumps({"data": {"result": [VECTOR_OK]}})
    with PrometheusClient(PrometheusTarget(url=wrong.url, source="X"), timeout_s=5) as client:
        [series] = client.instant("up")
    assert series.labels == {"pod": "a"} and series.values.tolist() == [1.0]


@pytest.mark.parametrize("body", [SHAPES["not json"], SHAPES["value null"]])
def test_sizer_verify_is_one_line(
    wrong: WrongShape,
    body: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    wrong.body = body
    monkeypatch.setenv("PROMETHEUS_URL", wrong.url)
    assert main(["verify", "orders", "-n", "lab"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a query result" in err, err


@pytest.mark.parametrize("body", [SHAPES["not json"], SHAPES["labels not strings"]])
def test_agent_tools_answer_an_error_the_model_can_read(wrong: WrongShape, body: str) -> None:
    wrong.body = body
    history = PrometheusHistory(
        PrometheusTarget(url=wrong.url, source="X"), MetricSchema(), timeout_s=5
    )
    tools = Toolset(Capabilities(catalog=bundled, policy=Policy(), history=history))
    turn = Turn(user="U1", channel="C1", thread_ts="1.0")
    for tool in ("usage_history", "verify_workload"):
        result = tools.call(tool, {"name": "orders", "namespace": "lab"}, turn)
        assert result.status == "error" and "not a query result" in (result.error or ""), result
    assert wrong.queries > 0
    assert issubclass(MalformedResponse, PrometheusError)
