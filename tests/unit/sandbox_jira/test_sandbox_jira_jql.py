"""The sandbox's JQL subset parses the connector's queries and refuses what it cannot evaluate."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from sandbox.jira import jql

CONNECTOR_QUERY = (
    'project = EMG AND issuetype in ("Emergency Change", "Post-Mortem") '
    'AND updated >= "2026-11-28 10:00" ORDER BY updated ASC'
)


def test_connector_query_parses_into_clauses_and_order():
    query = jql.parse(CONNECTOR_QUERY)
    assert [(c.field, c.op, c.values) for c in query.clauses] == [
        ("project", "=", ("EMG",)),
        ("issuetype", "in", ("Emergency Change", "Post-Mortem")),
        ("updated", ">=", ("2026-11-28 10:00",)),
    ]
    assert query.order_by == (("updated", False),)


def test_not_in_and_descending_order_are_understood():
    query = jql.parse("status not in (Done, 'Closed') ORDER BY key DESC")
    assert query.clauses[0].op == "not in" and query.clauses[0].values == ("Done", "Closed")
    assert query.order_by == (("key", True),)


def test_dates_compare_at_minute_precision_in_utc():
    clause = jql.parse('updated >= "2026-11-28 10:00"').clauses[0]
    assert jql.matches(clause, [datetime(2026, 11, 28, 10, 0, tzinfo=UTC)])
    assert not jql.matches(clause, [datetime(2026, 11, 28, 9, 59, tzinfo=UTC)])


def test_equality_is_case_insensitive_and_not_equal_negates():
    assert jql.matches(jql.parse("status = 'in progress'").clauses[0], ["3", "In Progress"])
    assert not jql.matches(jql.parse("status != 'In Progress'").clauses[0], ["3", "In Progress"])


@pytest.mark.parametrize(
    "text", ["project = EMG OR project = OPS", "project ~ EMG", "project =", "updated > 'soon'"]
)
def test_unsupported_or_malformed_queries_are_refused(text):
    with pytest.raises(jql.JqlError):
        query = jql.parse(text)
        for clause in query.clauses:
            jql.matches(clause, [datetime(2026, 1, 1, tzinfo=UTC)])


def test_date_literals_are_read_in_the_searching_users_time_zone():
    clause = jql.parse('updated >= "2026-11-28 10:00"').clauses[0]
    los_angeles = ZoneInfo("America/Los_Angeles")  # 10:00 there is 18:00 UTC
    assert not jql.matches(clause, [datetime(2026, 11, 28, 17, 59, tzinfo=UTC)], los_angeles)
    assert jql.matches(clause, [datetime(2026, 11, 28, 18, 0, tzinfo=UTC)], los_angeles)
