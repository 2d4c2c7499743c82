"""A small JQL subset: comparisons joined by AND, then ORDER BY.

Fields: project, issuetype, status, key/issuekey, labels, created, updated (and custom fields by id).
Operators: =, !=, in, not in, >=, <=, >, <. Dates as "yyyy-mm-dd" or "yyyy-mm-dd HH:MM", read in the
time zone of the user who searches (their profile's `timeZone`, as `GET myself` shows it): Jira has no
zone in the literal and takes the searcher's (Atlassian's JQL fields reference for Created / Updated,
https://support.atlassian.com/jira-software-cloud/docs/jql-fields/; clients that sync incrementally read
the account's zone first, e.g. https://docs.snowflake.com/en/user-guide/data-integration/openflow/processors/fetchjiraissues).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

TOKEN = re.compile(
    r'\s*(?:"((?:[^"\\]|\\.)*)"|\'((?:[^\'\\]|\\.)*)\'|(!=|>=|<=|=|>|<|\(|\)|,)|([^\s=!<>(),"\']+))'
)
ORDERED_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}
DATE_FIELDS = {"created", "updated", "duedate"}


class JqlError(ValueError):
    """The query is not valid JQL for this sandbox."""


@dataclass(frozen=True)
class Clause:
    field: str
    op: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Query:
    clauses: tuple[Clause, ...]
    order_by: tuple[tuple[str, bool], ...]  # (field, descending)


def _tokens(text: str) -> list[tuple[str, bool]]:
    """(token, quoted) pairs."""
    tokens, pos = [], 0
    while pos < len(text.rstrip()):
        match = TOKEN.match(text, pos)
        if not match:
            raise JqlError(f"Error in the JQL Query: unexpected character at position {pos}.")
        dq, sq, symbol, word = match.groups()
        quoted = dq if dq is not None else sq
        tokens.append((quoted, True) if quoted is not None else (symbol or word, False))
        pos = match.end()
    return tokens


def parse(text: str) -> Query:
    tokens = _tokens(text)
    clauses: list[Clause] = []
    order: list[tuple[str, bool]] = []
    i = 0

    def word(k: int) -> str:
        return tokens[k][0].lower() if k < len(tokens) and not tokens[k][1] else ""

    while i < len(tokens):
        if word(i) == "order" and word(i + 1) == "by":
            i += 2
            while i < len(tokens):
                name, i = tokens[i][0].lower(), i + 1
                desc = word(i) == "desc"
                i += 1 if word(i) in ("asc", "desc") else 0
                order.append((name, desc))
                i += 1 if i < len(tokens) and tokens[i][0] == "," else 0
            break
        if clauses:
            if word(i) != "and":
                raise JqlError(
                    f"Error in the JQL Query: expecting 'AND' or 'ORDER BY' but got '{tokens[i][0]}'."
                )
            i += 1
        if i + 2 > len(tokens):
            raise JqlError("Error in the JQL Query: the query is incomplete.")
        name, op = tokens[i][0].lower(), tokens[i + 1][0].lower()
        i += 2
        if op == "not" and word(i) == "in":
            op, i = "not in", i + 1
        if op in ("in", "not in"):
            if i >= len(tokens) or tokens[i][0] != "(":
                raise JqlError("Error in the JQL Query: expecting '(' after IN.")
            values, i = [], i + 1
            while i < len(tokens) and not (tokens[i][0] == ")" and not tokens[i][1]):
                if tokens[i][0] != "," or tokens[i][1]:
                    values.append(tokens[i][0])
                i += 1
            i += 1
        elif op in ("=", "!=", *ORDERED_OPS):
            if i >= len(tokens):
                raise JqlError("Error in the JQL Query: expecting a value.")
            values, i = [tokens[i][0]], i + 1
        else:
            raise JqlError(f"Error in the JQL Query: unknown operator '{op}'.")
        clauses.append(Clause(name, op, tuple(values)))
    return Query(tuple(clauses), tuple(order))


def parse_date(text: str, zone: tzinfo = UTC) -> datetime:
    for fmt in ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=zone)
        except ValueError:
            continue
    raise JqlError(
        f"Date value '{text}' for a date field is invalid. Use 'yyyy-MM-dd HH:mm' or 'yyyy-MM-dd'."
    )


def matches(clause: Clause, candidates: list[Any], zone: tzinfo = UTC) -> bool:
    """`candidates` are the issue's values for the field, each in every spelling JQL accepts (lowercase);
    `zone` is the searching user's time zone, in which created/updated literals are read."""
    if clause.field in DATE_FIELDS:
        moment = candidates[0] if candidates else None
        if moment is None:
            return False
        bound = parse_date(clause.values[0], UTC if clause.field == "duedate" else zone)
        if clause.op in ORDERED_OPS:
            return ORDERED_OPS[clause.op](moment, bound)
        return (moment == bound) == (clause.op == "=")
    wanted = {v.lower() for v in clause.values}
    hit = bool(wanted & {str(c).lower() for c in candidates})
    if clause.op in ("=", "in"):
        return hit
    if clause.op in ("!=", "not in"):
        return not hit
    raise JqlError(f"Operator '{clause.op}' is not supported for field '{clause.field}'.")
