# ruff: noqa: E501  (the phrasings are kept whole, as people type them)
"""Realistic ways of asking for a size, one message or a whole thread, with the request meant.

Each case is the messages a person sends in one thread and the :class:`SizeRequest` they mean
(``None``: Sizer must refuse or keep asking, and its last reply must contain ``refusal``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tools.propose import SizeRequest

IMG = "ghcr.io/acme/app:1.0"


@dataclass(frozen=True)
class Case:
    turns: tuple[str, ...]
    expected: SizeRequest | None
    refusal: str = ""


def R(name: str, rps: tuple[float, float] | None = (80, 80), **more: Any) -> SizeRequest:
    load = {"rps_low": rps[0], "rps_high": rps[1]} if rps else {}
    return SizeRequest.model_validate({"name": name, "image": IMG, **load, **more})


def one(text: str, expected: SizeRequest | None, refusal: str = "") -> Case:
    return Case((text,), expected, refusal)


CASES: list[Case] = [
    # --- single messages, plain language ---
    one(
        f"size a new service items-api, python fastapi, 50-100 rps, like recommendationservice, image {IMG}",
        R(
            "items-api",
            (50, 100),
            language="python",
            framework="fastapi",
            similar=("recommendationservice",),
        ),
    ),
    one(
        f"can you size items-api? it's a FastAPI app doing about 80 requests per second. image {IMG}",
        R("items-api", language="python", framework="fastapi"),
    ),
    one(
        f"please size geo-api, go, 2k rps, similar to frontend, image {IMG}",
        R("geo-api", (2000, 2000), language="go", similar=("frontend",)),
    ),
    one(
        f"we need a size for notify-svc, a flask app, ~30 req/s, image: {IMG}",
        R("notify-svc", (30, 30), language="python", framework="flask"),
    ),
    one(
        f"size orders-api like the cart service, normally 40 rps but peaks at 300, image {IMG}",
        R("orders-api", (40, 300), similar=("cartservice",)),
    ),
    one(f"size search-api, 6000 requests per minute, image {IMG}", R("search-api", (100, 100))),
    one(
        f"size `ledger` in namespace payments, java spring boot, 200-400 qps, critical, image {IMG}",
        R(
            "ledger",
            (200, 400),
            namespace="payments",
            language="java",
            framework="spring-boot",
            critical=True,
        ),
    ),
    one(
        f"Size a Node.js express service called web-bff doing 150 rps in the frontend-team namespace, image {IMG}",
        R("web-bff", (150, 150), namespace="frontend-team", language="nodejs", framework="express"),
    ),
    one(
        f"size a .net service invoices at 25 req/sec, image {IMG}",
        R("invoices", (25, 25), language="csharp"),
    ),
    one(
        f"size `pdf-render`, golang, 10 to 20 rps, like emailservice and cartservice, image {IMG}",
        R("pdf-render", (10, 20), language="go", similar=("emailservice", "cartservice")),
    ),
    one(
        f"size auth-gw, a gateway for about 1.5k rps, image {IMG}",
        R("auth-gw", (1500, 1500), kind="gateway"),
    ),
    one(
        f"size profile-api django ~45rps image {IMG}",
        R("profile-api", (45, 45), language="python", framework="django"),
    ),
    one(
        f"hey, could you size reco-v2? python, between 50 and 80 rps, similar to the recommendation service, image {IMG}",
        R("reco-v2", (50, 80), language="python", similar=("recommendationservice",)),
    ),
    one(
        f"size quotes-api: typescript, nestjs, up to 120 rps, image {IMG}",
        R("quotes-api", (0, 120), language="nodejs", framework="nestjs"),
    ),
    one(
        f"size the catalog-api service, 300 rps peak, like productcatalogservice, image {IMG}",
        R("catalog-api", (0, 300), similar=("productcatalogservice",)),
    ),
    one(
        f"size stock-api, kotlin, 75 rps, tier-1, image {IMG}",
        R("stock-api", (75, 75), language="java", critical=True),
    ),
    one(
        f"size ratings with rust axum at 500 rps image {IMG}",
        R("ratings", (500, 500), language="rust", framework="axum"),
    ),
    one(
        f"size a ruby on rails app named store-front, 60 requests a second, image {IMG}",
        R("store-front", (60, 60), language="ruby", framework="rails"),
    ),
    one(f"size `tax-calc` 12 rps, it's not critical, image {IMG}", R("tax-calc", (12, 12))),
    one(
        f"size tickets-api, spring, 2,000-5,000 rps, image {IMG}",
        R("tickets-api", (2000, 5000), language="java", framework="spring-boot"),
    ),
    one(
        f"size mailer, python, 80 rps, like email, image {IMG}",
        R("mailer", language="python", similar=("emailservice",)),
    ),
    one(
        f"size checkout-v2 like the checkout service, go, 90 rps, image {IMG}",
        R("checkout-v2", (90, 90), language="go", similar=("checkoutservice",)),
    ),
    one(
        f"size currency-v2 similar to currency-svc, node, 40 qps, image {IMG}",
        R("currency-v2", (40, 40), language="nodejs", similar=("currencyservice",)),
    ),
    one(
        f"size a grpc service shipping-v2 at 70 rps like shippingservice, image {IMG}",
        R("shipping-v2", (70, 70), kind="grpc", similar=("shippingservice",)),
    ),
    one(
        f"size thumbs, python, 30 rps, image {IMG}, port 8000, health check at /healthz",
        R("thumbs", (30, 30), language="python", port=8000, probe_path="/healthz"),
    ),
    one(f"size api-edge --rps 300 --image {IMG} --port 3000", R("api-edge", (300, 300), port=3000)),
    one(
        f"size items-api --language golang --rps 50-100 --image {IMG}",
        R("items-api", (50, 100), language="go"),
    ),
    one(
        f"<@U0SIZER> size items-api --rps 2k-5k --namespace team-a --critical --image {IMG}",
        R("items-api", (2000, 5000), namespace="team-a", critical=True),
    ),
    one(
        f"size `billing-api`, python 3.11, fastapi, ~200 rps, in namespace billing, image {IMG}",
        R("billing-api", (200, 200), namespace="billing", language="python", framework="fastapi"),
    ),
    one(
        f"need resources for search-indexer: java, quarkus, 35 rps, image {IMG}",
        R("search-indexer", (35, 35), language="java", framework="quarkus"),
    ),
    one(f"size the `fx-rates` api, 5 rps, image {IMG}", R("fx-rates", (5, 5))),
    # --- workers ---
    one(
        f"size billing-worker, a python queue consumer doing 5-10 messages per second, image {IMG}",
        R(
            "billing-worker",
            None,
            language="python",
            kind="worker",
            messages_low=5,
            messages_high=10,
        ),
    ),
    one(
        f"size `email-sender`, a worker taking 300 msgs/min, image {IMG}",
        R("email-sender", None, kind="worker", messages_low=5, messages_high=5),
    ),
    one(
        f"size events-consumer, a go consumer, no request load, image {IMG}",
        R("events-consumer", None, language="go", kind="worker"),
    ),
    one(
        f"size thumbnailer --kind worker --messages 20-40 --image {IMG}",
        R("thumbnailer", None, kind="worker", messages_low=20, messages_high=40),
    ),
    # --- image from the running workload of that name ---
    one(
        "size image-resizer for 200 rps",
        R("image-resizer", (200, 200), image="ghcr.io/acme/image-resizer:3.2"),
    ),
    # --- multi-turn: bare answers fill the asked slot ---
    Case(
        ("size a new service, python fastapi, 50-100 rps", "items-api", IMG),
        R("items-api", (50, 100), language="python", framework="fastapi"),
    ),
    Case(
        ("size `items-api`, flask", "40", IMG),
        R("items-api", (40, 40), language="python", framework="flask"),
    ),
    Case(("size items-api", "about 80 rps", IMG), R("items-api")),
    Case(("size items-api", "50-100", "ghcr.io/acme/app:1.0"), R("items-api", (50, 100))),
    Case(("size items-api", "normally 40 but peaks at 300", IMG), R("items-api", (40, 300))),
    Case(("size items-api, 80 rps", f"image {IMG}"), R("items-api")),
    Case(
        ("size items-api, 80 rps", "no image yet"),
        R("items-api").model_copy(update={"image": None}),
    ),
    Case(("size geo-api, go", "2k", IMG), R("geo-api", (2000, 2000), language="go")),
    Case(
        ("can you size something for me?", "notify-svc", "30 req/s", IMG), R("notify-svc", (30, 30))
    ),
    Case(
        ("I need a new flask service sized, 25 rps", "`hooks-api`", IMG),
        R("hooks-api", (25, 25), language="python", framework="flask"),
    ),
    Case(
        ("size items-api like the payment service", "80", IMG),
        R("items-api", similar=("paymentservice",)),
    ),
    # an ambiguous peer is asked about; the answer (a button's value) fills it
    Case(
        (f"size items-api like the order service, 80 rps, image {IMG}", "ts-order-service"),
        R("items-api", similar=("ts-order-service",)),
    ),
    Case(
        ("size items-api", "it's called items-api and does 60 rps", IMG), R("items-api", (60, 60))
    ),
    Case(("size `orders-worker`, a consumer", IMG), R("orders-worker", None, kind="worker")),
    Case(("size items-api in namespace team-a", "80 rps", IMG), R("items-api", namespace="team-a")),
    # --- corrections revise the last request ---
    Case(
        (f"size items-api, 80 rps, image {IMG}", "actually make that 180 rps"),
        R("items-api", (180, 180)),
    ),
    Case(
        (f"size items-api, 80 rps, image {IMG}", "sorry, it's 50-100 rps"),
        R("items-api", (50, 100)),
    ),
    Case(
        (f"size items-api, 80 rps, image {IMG}", "actually it should be like emailservice"),
        R("items-api", similar=("emailservice",)),
    ),
    Case(
        (f"size items-api, 80 rps, image {IMG}", "change it to namespace team-b"),
        R("items-api", namespace="team-b"),
    ),
    Case(("size items-api", "40", "actually 400", IMG), R("items-api", (400, 400))),
    # --- refusals: never a guess ---
    one(f"size items-api --rps 5e3 --image {IMG}", None, "no exponents"),
    one(f"size items-api --rps 1e308 --image {IMG}", None, "no exponents"),
    one(
        f"size items-api --rps 80 --namespace Team_A --image {IMG}",
        None,
        "'Team_A' is not a valid Kubernetes name",
    ),
    one(f"size items-api at 5e3 rps, image {IMG}", None, "can't read '5e3'"),
    one(
        f"size `Items_API` at 80 rps, image {IMG}",
        None,
        "'Items_API' is not a valid Kubernetes name",
    ),
    one(
        f"size items-api in namespace Team_A, 80 rps, image {IMG}", None, "'Team_A' is not a valid"
    ),
    one(f"size items-api at 100-50 rps, image {IMG}", None, "reversed"),
    one(f"size items-api --rps 80 --port 99999 --image {IMG}", None, "--port '99999'"),
    one("size items-api, 80 rps, image ghcr.io/acme/Items:1.0", None, "not an image reference"),
]
