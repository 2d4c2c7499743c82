"""The pipeline gate as a read of the store: load one change, ask the procedure core, answer in plain data.

Used by `GET /api/changes/{key}/gate` and by `ecm gate`. Nothing is written: asking never changes a
change, and an answer is as fresh as the connector's facts about it.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from connector.evidence.rulebook import RuleBook
from connector.procedure.gate import GATE_STAGES, blocking
from connector.procedure.model import Stage
from connector.store.evidence import find_change
from connector.store.facts import change_facts

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

STAGE_NAMES = tuple(stage.value for stage in GATE_STAGES)


class UnknownStage(ValueError):
    """`to` is not a stage the gate answers for."""


def gate_stage(value: str | None) -> Stage:
    if value not in STAGE_NAMES:
        shown = "missing" if not value else f"{value!r} is not a gate stage"
        raise UnknownStage(f"to: {shown}; must be one of {', '.join(STAGE_NAMES)}")
    return Stage(value)


def gate(
    session: Session, key: str, to: str | None, book: RuleBook, tool: str | None = None
) -> dict[str, Any]:
    """`{"allowed", "violations", ...}` for a move of change `key` to `to` now.

    Raises `UnknownStage` for a bad `to` (checked first: no lookup for a malformed question) and
    `ChangeNotFound` for a key the connector has not recorded."""
    stage = gate_stage(to)
    facts = change_facts(find_change(session, key, tool))
    found = blocking(facts, stage, book.clock(), book.for_tool(facts.tool).policy)
    return {
        "key": facts.key,
        "tool": facts.tool,
        "stage": facts.stage.value,
        "to": stage.value,
        "allowed": not found,
        "violations": [dataclasses.asdict(v) | {"missing": list(v.missing)} for v in found],
    }
