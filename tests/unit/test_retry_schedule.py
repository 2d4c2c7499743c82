"""The outbox's scheduled retries: a transient 429 or 5xx is tried again within seconds (a change's later
actions wait in order behind it), a long outage is still tried for over an hour before a row is dead, and
a tool's Retry-After is never cut short."""

from __future__ import annotations

from connector.dispatch import MAX_ATTEMPTS, scheduled_delay
from connector.errors import RateLimited, Unavailable


def test_the_first_scheduled_retries_of_a_transient_failure_come_within_seconds():
    first_three = [scheduled_delay(n, Unavailable("HTTP 502")) for n in (1, 2, 3)]
    assert sum(first_three) <= 10.0, first_three


def test_a_tool_that_answers_nothing_is_tried_for_over_an_hour_before_the_action_is_dead():
    waits = [scheduled_delay(n, Unavailable("HTTP 503")) for n in range(1, MAX_ATTEMPTS)]
    assert sum(waits) >= 3600.0, waits
    assert max(waits) <= 1800.0 + 1.0  # never more than half an hour (and its jitter) between attempts


def test_a_retry_after_is_honoured_whatever_the_backoff_says():
    assert scheduled_delay(1, RateLimited("HTTP 429", retry_after=120.0)) >= 120.0
