"""A Web client that counts what Slack refused: API errors by method and code, and 429s.

The counting happens where slack_sdk already looks at every answer (``api_call`` and the
retry handler), so no call site needs to remember it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.slack_response import SlackResponse

from bot.observability.metrics import SLACK_API_ERRORS, SLACK_RATE_LIMITED

__all__ = ["CountingRateLimitHandler", "InstrumentedWebClient"]


class InstrumentedWebClient(WebClient):
    def api_call(self, api_method: str, **kwargs: Any) -> SlackResponse:
        try:
            return super().api_call(api_method, **kwargs)
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else None
            SLACK_API_ERRORS.labels(api_method, str(error or "unknown")).inc()
            raise


class CountingRateLimitHandler(RateLimitErrorRetryHandler):
    """Retries a 429 after Retry-After, as slack_sdk's handler does, and counts it."""

    def can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is not None and response.status_code == 429:
            SLACK_RATE_LIMITED.labels(urlsplit(request.url).path.rsplit("/", 1)[-1]).inc()
        return super().can_retry(state=state, request=request, response=response, error=error)
