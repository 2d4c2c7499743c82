"""ServiceNow encoded queries (`sysparm_query`): parse once, then filter and order records."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

Resolver = Callable[[dict[str, str], str], str | None]
"""Reads a (possibly dot-walked) field of a record; None when the field does not exist."""

_CONDITION = re.compile(
    r"^(?P<field>[a-z0-9_.]+)"
    r"(?P<op>ISNOTEMPTY|ISEMPTY|NOT IN|IN|STARTSWITH|ENDSWITH|NOT LIKE|LIKE|!=|>=|<=|=|>|<)(?P<value>.*)$",
    re.S,
)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _compare(left: str, right: str) -> int:
    a, b = _number(left), _number(right)
    if a is not None and b is not None:
        return (a > b) - (a < b)
    return (left > right) - (left < right)


OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "=": lambda v, x: v == x,
    "!=": lambda v, x: v != x,
    "IN": lambda v, x: v in x.split(","),
    "NOT IN": lambda v, x: v not in x.split(","),
    "STARTSWITH": lambda v, x: v.lower().startswith(x.lower()),
    "ENDSWITH": lambda v, x: v.lower().endswith(x.lower()),
    "LIKE": lambda v, x: x.lower() in v.lower(),
    "NOT LIKE": lambda v, x: x.lower() not in v.lower(),
    ">": lambda v, x: v != "" and _compare(v, x) > 0,
    ">=": lambda v, x: v != "" and _compare(v, x) >= 0,
    "<": lambda v, x: v != "" and _compare(v, x) < 0,
    "<=": lambda v, x: v != "" and _compare(v, x) <= 0,
    "ISEMPTY": lambda v, x: v == "",
    "ISNOTEMPTY": lambda v, x: v != "",
}


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: str

    def holds(self, record: dict[str, str], resolve: Resolver) -> bool:
        actual = resolve(record, self.field) if self.field else None
        if actual is None:  # an unknown field: ServiceNow ignores the condition
            return True
        return OPERATORS[self.op](actual, self.value)


@dataclass(frozen=True)
class Query:
    """OR of groups (`^NQ`); each group is an AND of clauses; each clause an OR of conditions (`^OR`)."""

    groups: tuple[tuple[tuple[Condition, ...], ...], ...]
    order: tuple[tuple[str, bool], ...]  # (field, descending)

    def matches(self, record: dict[str, str], resolve: Resolver) -> bool:
        if not self.groups:
            return True
        return any(
            all(any(c.holds(record, resolve) for c in clause) for clause in group) for group in self.groups
        )

    def apply(self, records: list[dict[str, str]], resolve: Resolver) -> list[dict[str, str]]:
        selected = [r for r in records if self.matches(r, resolve)]
        for name, descending in reversed(self.order):
            selected.sort(key=lambda r, n=name: _sort_key(resolve(r, n) or ""), reverse=descending)
        return selected


def _sort_key(value: str) -> tuple[int, float, str]:
    number = _number(value)
    return (0, number, "") if number is not None else (1, 0.0, value)


def parse_query(text: str) -> Query:
    groups: list[tuple[tuple[Condition, ...], ...]] = []
    order: list[tuple[str, bool]] = []
    for group_text in text.split("^NQ") if text else []:
        clauses: list[list[Condition]] = []
        for term in group_text.split("^"):
            if not term or term == "EQ":
                continue
            if term.startswith("ORDERBYDESC"):
                order.append((term[len("ORDERBYDESC") :], True))
            elif term.startswith("ORDERBY"):
                order.append((term[len("ORDERBY") :], False))
            elif term.startswith("OR") and clauses:
                clauses[-1].append(_condition(term[2:]))
            else:
                clauses.append([_condition(term)])
        if clauses:
            groups.append(tuple(tuple(clause) for clause in clauses))
    return Query(groups=tuple(groups), order=tuple(order))


def _condition(term: str) -> Condition:
    found = _CONDITION.match(term)
    if not found:  # ServiceNow ignores a term it cannot read
        return Condition("", "ISEMPTY", "")
    return Condition(found["field"], found["op"], found["value"])
