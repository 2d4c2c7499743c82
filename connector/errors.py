"""The connector's own error types. Callers never see `JIRAError`, pysnow or requests exceptions."""

from __future__ import annotations


class ConnectorError(Exception):
    """Base of every error the connector raises on purpose."""


class ConfigError(ConnectorError):
    """A setting is missing or invalid; the message names the variable."""


class MappingError(ConnectorError):
    """A mapping file is invalid; the message reads `file:path.to.key: what is wrong`."""


# --- inbound webhooks -------------------------------------------------------------------------


class InboundError(ConnectorError):
    """A webhook delivery cannot be accepted."""


class BadSignature(InboundError):
    """Missing or wrong signature: answer 401 and store nothing."""


class MalformedBody(InboundError):
    """Body is not the JSON shape expected: answer 400."""


# --- outbound calls (gateways) ----------------------------------------------------------------


class ApiError(ConnectorError):
    """A call to Jira or ServiceNow failed. `retryable` tells the outbox dispatcher what to do."""

    retryable = False
    retried_alone = False  # already made again on its own by connector/retries.py

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class RateLimited(ApiError):
    """429: wait `retry_after` seconds (from the Retry-After header) and try again."""

    retryable = True


class Unavailable(ApiError):
    """5xx, timeout or connection failure: try again later."""

    retryable = True


class NotFound(ApiError):
    """404: the issue, record or resource does not exist."""


class AuthFailed(ApiError):
    """401/403: the connector's account is not allowed to do this."""


class Rejected(ApiError):
    """Other 4xx: the tool refused the request as invalid (validation, workflow condition)."""
