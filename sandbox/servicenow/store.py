"""In-memory tables of records (dicts of strings), sys_ids, numbers and the instance clock."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from sandbox.servicenow.schema import SYSTEM_FIELDS, TableSpec

Clock = Callable[[], datetime]
Record = dict[str, str]


def system_clock() -> datetime:
    return datetime.now(UTC)


def new_sys_id() -> str:
    return uuid.uuid4().hex


def glide_time(moment: datetime) -> str:
    """ServiceNow's `YYYY-MM-DD HH:MM:SS` in UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


class Store:
    """Records per table, in insertion order. Callers hold `lock` around read-modify-write sequences."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.lock = threading.RLock()
        self.clock = clock or system_clock
        self._tables: dict[str, dict[str, Record]] = {}
        self._counters: dict[str, int] = {}

    def now(self) -> str:
        return glide_time(self.clock())

    def rows(self, table: str) -> list[Record]:
        with self.lock:
            return [dict(row) for row in self._tables.get(table, {}).values()]

    def get(self, table: str, sys_id: str) -> Record | None:
        with self.lock:
            row = self._tables.get(table, {}).get(sys_id)
            return dict(row) if row is not None else None

    def find(self, table: str, **match: str) -> list[Record]:
        return [row for row in self.rows(table) if all(row.get(k) == v for k, v in match.items())]

    def insert(self, spec: TableSpec, values: Record, actor: str) -> Record:
        with self.lock:
            now = self.now()
            record: Record = {name: "" for name in spec.fields or ()}
            record.update(spec.defaults)
            record.update(values)
            record.update(
                {
                    "sys_id": values.get("sys_id") or new_sys_id(),
                    "sys_created_on": now,
                    "sys_created_by": actor,
                    "sys_updated_on": now,
                    "sys_updated_by": actor,
                    "sys_mod_count": "0",
                }
            )
            if spec.number_prefix and not values.get("number"):
                record["number"] = self._next_number(spec)
            if "opened_at" in record and not record["opened_at"]:
                record["opened_at"] = now
            self._tables.setdefault(spec.name, {})[record["sys_id"]] = record
            return dict(record)

    def update(self, table: str, sys_id: str, values: Record, actor: str) -> Record:
        with self.lock:
            record = self._tables[table][sys_id]
            record.update({k: v for k, v in values.items() if k not in SYSTEM_FIELDS})
            record.update(
                {
                    "sys_updated_on": self.now(),
                    "sys_updated_by": actor,
                    "sys_mod_count": str(int(record["sys_mod_count"]) + 1),
                }
            )
            return dict(record)

    def delete(self, table: str, sys_id: str) -> None:
        with self.lock:
            self._tables.get(table, {}).pop(sys_id, None)

    def _next_number(self, spec: TableSpec) -> str:
        value = self._counters.get(spec.name, spec.number_start)
        self._counters[spec.name] = value + 1
        return f"{spec.number_prefix}{value:07d}"
