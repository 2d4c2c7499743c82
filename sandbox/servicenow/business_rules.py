"""Which business rules (`sys_script` records) run for a write, and whether their conditions hold.

A rule runs when it is `active`, its `collection` is the table, its `when` is the phase (before, after,
async), its `action_insert` / `action_update` matches the operation, and both its `filter_condition`
(an encoded query, with the change operators `VALCHANGES`, `CHANGESTO`, `CHANGESFROM`) and its script
`condition` hold; rules run by `order`, then name.
https://www.servicenow.com/docs/bundle/xanadu-api-reference/page/script/business-rules/concept/c_BusinessRules.html
(“Business rules”: when, order, actions, filter conditions and condition).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sandbox.servicenow.query import parse_query
from sandbox.servicenow.store import Record

_CHANGE_TERM = re.compile(r"^(?P<field>[a-z0-9_]+)(?P<op>VALCHANGES|CHANGESTO|CHANGESFROM)(?P<value>.*)$")
Resolver = Callable[[Record, str], str | None]


def _order(rule: Record) -> tuple[int, str]:
    try:
        return int(rule.get("order") or 100), rule.get("name", "")
    except ValueError:
        return 100, rule.get("name", "")


def rules_for(scripts: list[Record], table: str, when: str, operation: str) -> list[Record]:
    action = f"action_{operation}"
    chosen = [
        rule
        for rule in scripts
        if rule.get("collection") == table
        and rule.get("active", "true") == "true"
        and rule.get("when", "before") == when
        and rule.get(action, "false") == "true"
    ]
    return sorted(chosen, key=_order)


def filter_holds(condition: str, before: Record, after: Record, resolve: Resolver) -> bool:
    """An encoded filter condition (`type=emergency^stateCHANGESTO-1^EQ`) on the write."""
    text = condition.strip()
    if text.endswith("^EQ"):
        text = text[: -len("^EQ")]
    if not text:
        return True
    if "^OR" in text or "^NQ" in text:
        if _CHANGE_TERM.search(text.replace("^OR", "^").replace("^NQ", "^")):
            raise ValueError(f"filter condition {condition!r}: change operators inside OR are not supported")
        return parse_query(text).matches(after, resolve)
    plain = []
    for term in text.split("^"):
        found = _CHANGE_TERM.match(term)
        if found is None:
            plain.append(term)
            continue
        name, op, value = found["field"], found["op"], found["value"]
        old, new = before.get(name, ""), after.get(name, "")
        if op == "VALCHANGES" and old == new:
            return False
        if op == "CHANGESTO" and (old == new or new != value):
            return False
        if op == "CHANGESFROM" and (old == new or old != value):
            return False
    return not plain or parse_query("^".join(plain)).matches(after, resolve)
