"""Journal fields: `comments` and `work_notes` live in sys_journal_field, shown as display values only."""

from __future__ import annotations

from typing import Any

from sandbox.servicenow.render import View
from sandbox.servicenow.schema import JOURNAL_FIELDS
from sandbox.servicenow.store import Store

LABELS = {"comments": "Additional comments", "work_notes": "Work notes"}


def journal_entries(store: Store, table: str, sys_id: str, element: str) -> list[str]:
    """Entries newest first, each `<time> - <full name> (<label>)\\n<text>\\n\\n`: what a form shows and
    what `GlideElement.getJournalEntry(n)` answers (1: the newest, -1: all).
    https://developer.servicenow.com/dev.do#!/reference/api/xanadu/server_legacy/c_GlideElementAPI#r_GlideElement-getJournalEntry_Number"""
    names = {u["user_name"]: u["name"] for u in store.rows("sys_user")}
    rows = store.find("sys_journal_field", name=table, element_id=sys_id, element=element)
    rows.reverse()  # later insert first among entries of the same second
    rows.sort(key=lambda row: row["sys_created_on"], reverse=True)
    return [
        f"{row['sys_created_on']} - {names.get(row['sys_created_by'], row['sys_created_by'])} "
        f"({LABELS[element]})\n{row['value']}\n\n"
        for row in rows
    ]


def journal_text(store: Store, table: str, sys_id: str, element: str) -> str:
    return "".join(journal_entries(store, table, sys_id, element))


def overlay_journal(
    store: Store, table: str, sys_id: str, body: dict[str, Any], view: View
) -> dict[str, Any]:
    if view.display == "false":
        return body
    for element in JOURNAL_FIELDS:
        if element in body:
            text = journal_text(store, table, sys_id, element)
            body[element] = text if view.display == "true" else {"display_value": text, "value": ""}
    return body
