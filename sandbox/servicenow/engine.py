"""The instance: checks writes, runs the before rules, stores, runs after effects, queues notifications."""

from __future__ import annotations

from typing import Any

from sandbox.servicenow import effects
from sandbox.servicenow.notify import Notifier, build_notification, changed_fields
from sandbox.servicenow.rules import (
    APPROVER_GROUPS,
    BLOCK_RULE,
    NOTIFY_RULE,
    Refusal,
    Write,
    run_before_rules,
)
from sandbox.servicenow.schema import JOURNAL_FIELDS, SYSTEM_FIELDS, TABLES, TableSpec
from sandbox.servicenow.seed import seed
from sandbox.servicenow.store import Clock, Record, Store

_ACL_DETAIL = "ACL Exception {} Failed due to security constraints"


def _text(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("value", "")
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


class Instance:
    """A ServiceNow instance in memory. Every public method is thread-safe."""

    def __init__(self, clock: Clock | None = None, notifier: Notifier | None = None) -> None:
        self.store = Store(clock)
        self.notifier = notifier or Notifier()
        self._pending: list[tuple[str, str, Record, Record]] = []
        seed(self.store)

    # --- reading -------------------------------------------------------------------------------
    def spec(self, table: str) -> TableSpec:
        spec = TABLES.get(table)
        if spec is None:
            raise Refusal(400, f"Invalid table {table}", None)
        return spec

    def user(self, user_name: str) -> Record | None:
        found = self.store.find("sys_user", user_name=user_name)
        return found[0] if found else None

    def can_read(self, spec: TableSpec, actor: Record) -> bool:
        return not spec.read_role or _has_role(actor, spec.read_role)

    def read_field(self, table: str, record: Record, name: str) -> str | None:
        """A field, dot-walking references (`requested_by.user_name`); None when it does not exist."""
        head, _, rest = name.partition(".")
        if head not in record:
            spec = TABLES.get(table)
            return "" if spec is not None and spec.fields is None and not rest else None
        if not rest:
            return record[head]
        target = TABLES[table].references.get(head) if table in TABLES else None
        row = self.store.get(target, record[head]) if target and record[head] else None
        if target is None:
            return None
        return self.read_field(target, row, rest) if row is not None else ""

    def approvals_complete(self, change_sys_id: str) -> bool:
        groups = {
            g["sys_id"]: g["name"] for g in self.store.rows("sys_user_group") if g["name"] in APPROVER_GROUPS
        }
        approved = {
            groups.get(row["group"])
            for row in self.store.find("sysapproval_approver", sysapproval=change_sys_id, state="approved")
        }
        return all(name in approved for name in APPROVER_GROUPS)

    def rule_active(self, name: str) -> bool:
        return any(row.get("active", "true") == "true" for row in self.store.find("sys_script", name=name))

    def property(self, name: str) -> str:
        found = self.store.find("sys_properties", name=name)
        return found[0].get("value", "") if found else ""

    # --- writing -------------------------------------------------------------------------------
    def insert(self, table: str, payload: dict[str, Any], actor: Record) -> Record:
        spec = self._writable(table, actor, "Insert")
        values, journal = self._clean(spec, payload)
        with self.store.lock:
            merged = {**spec.defaults, **values}
            self._check(Write(table, "insert", {}, merged, actor, False, False))
            record = self.write_insert(table, values, actor)
            self._journal(table, record["sys_id"], journal, actor)
            self._flush()
            return self.store.get(table, record["sys_id"]) or record

    def update(self, table: str, sys_id: str, payload: dict[str, Any], actor: Record) -> Record:
        spec = self._writable(table, actor, "Update")
        values, journal = self._clean(spec, payload)
        with self.store.lock:
            before = self._existing(table, sys_id)
            values = {k: v for k, v in values.items() if before.get(k) != v or k not in before}
            write = Write(
                table,
                "update",
                before,
                {**before, **values},
                actor,
                self.approvals_complete(sys_id) if table == "change_request" else False,
                self.rule_active(BLOCK_RULE),
            )
            self._check(write)
            if values or journal:
                self.write_update(table, sys_id, {**values, **effects.adjust(write, self.store.now())}, actor)
            self._journal(table, sys_id, journal, actor)
            self._flush()
            return self.store.get(table, sys_id) or before

    def delete(self, table: str, sys_id: str, actor: Record) -> None:
        self._writable(table, actor, "Delete")
        with self.store.lock:
            self._existing(table, sys_id)
            self.store.delete(table, sys_id)

    def write_insert(self, table: str, values: Record, actor: Record) -> Record:
        """Store a record as `actor` and run its after effects (used by the effects themselves)."""
        record = self.store.insert(TABLES[table], values, actor["user_name"])
        self._pending.append((table, "insert", {}, record))
        effects.after(self, table, "insert", {}, record, actor)
        return record

    def write_update(self, table: str, sys_id: str, values: Record, actor: Record) -> Record:
        before = self._existing(table, sys_id)
        record = self.store.update(table, sys_id, values, actor["user_name"])
        self._pending.append((table, "update", before, record))
        effects.after(self, table, "update", before, record, actor)
        return record

    # --- internals -----------------------------------------------------------------------------
    def _writable(self, table: str, actor: Record, action: str) -> TableSpec:
        spec = self.spec(table)
        if spec.write_role and not _has_role(actor, spec.write_role):
            raise Refusal(403, "Operation Failed", _ACL_DETAIL.format(action))
        return spec

    def _existing(self, table: str, sys_id: str) -> Record:
        record = self.store.get(table, sys_id)
        if record is None:
            raise Refusal(
                404, "No Record found", "Record doesn't exist or ACL restricts the record retrieval"
            )
        return record

    def _clean(self, spec: TableSpec, payload: dict[str, Any]) -> tuple[Record, Record]:
        values = {
            name: self._resolve(spec, name, _text(value))
            for name, value in payload.items()
            if spec.accepts(name) and name not in SYSTEM_FIELDS
        }
        journal = {name: values.pop(name) for name in JOURNAL_FIELDS if values.get(name)}
        for name in JOURNAL_FIELDS:
            values.pop(name, None)
        return values, journal

    def _resolve(self, spec: TableSpec, name: str, value: str) -> str:
        """A reference may be written as a sys_id or as the referenced record's display value."""
        target = spec.references.get(name)
        if not target or not value or self.store.get(target, value) is not None:
            return value
        keys = (TABLES[target].display_field, "user_name", "name")
        for row in self.store.rows(target):
            if any(row.get(key) == value for key in keys):
                return row["sys_id"]
        return value

    def _check(self, write: Write) -> None:
        try:
            run_before_rules(write)
        except Refusal:
            self._pending.clear()
            raise

    def _journal(self, table: str, sys_id: str, journal: Record, actor: Record) -> None:
        for element, text in journal.items():
            self.write_insert(
                "sys_journal_field",
                {"element": element, "element_id": sys_id, "name": table, "value": text},
                actor,
            )

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        if not self.rule_active(NOTIFY_RULE):
            return
        url, secret = self.property("x_ecm.connector_url"), self.property("x_ecm.connector_secret")
        for table, operation, before, after in pending:
            change = effects.emergency_change_of(self, table, after)
            if operation == "update" and not changed_fields(before, after):
                continue
            if change is not None and url:
                self.notifier.enqueue(
                    build_notification(url, secret, table, operation, before, after, change, self.store.now())
                )


def _has_role(actor: Record, role: str) -> bool:
    return role in actor.get("roles", "").split(",")
