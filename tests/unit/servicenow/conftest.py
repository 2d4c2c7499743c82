"""An in-memory stand-in for `ServiceNowGateway` (the calls the installer and doctor make)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from pydantic import SecretStr

from connector.config import Settings
from connector.errors import NotFound, Unavailable
from connector.mapping import load_mapping
from connector.servicenow.gateway import SnRecord

MAPPING = Path(__file__).parents[3] / "mappings" / "servicenow.yaml"


class FakeServiceNow:
    def __init__(self, user: str = "ecm-bot", roles: str = "admin") -> None:
        self.url, self.user = "http://servicenow.test", user
        self.tables: dict[str, dict[str, dict[str, str]]] = {}
        self.writes: list[tuple[str, str, dict[str, str]]] = []
        self.down = False
        self.create("sys_user", {"user_name": user, "roles": roles})

    def _rows(self, table: str) -> dict[str, dict[str, str]]:
        if self.down:
            raise Unavailable("GET: cannot connect to ServiceNow")
        return self.tables.setdefault(table, {})

    def find(self, table: str, query: str = "", *, limit: int = 100, offset: int = 0) -> tuple[SnRecord, ...]:
        terms = [term.split("=", 1) for term in query.split("^") if "=" in term]
        rows = [r for r in self._rows(table).values() if all(r.get(k) == v for k, v in terms)]
        return tuple(SnRecord(table, r["sys_id"], dict(r)) for r in rows[offset : offset + limit])

    def find_one(self, table: str, query: str) -> SnRecord | None:
        found = self.find(table, query, limit=1)
        return found[0] if found else None

    def create(self, table: str, fields: dict[str, str]) -> SnRecord:
        row = {**fields, "sys_id": uuid.uuid4().hex}
        self._rows(table)[row["sys_id"]] = row
        self.writes.append(("POST", table, dict(fields)))
        return SnRecord(table, row["sys_id"], dict(row))

    def update(self, table: str, sys_id: str, fields: dict[str, str]) -> SnRecord:
        row = self._rows(table)[sys_id]
        row.update(fields)
        self.writes.append(("PUT", table, dict(fields)))
        return SnRecord(table, sys_id, dict(row))

    def user_by_name(self, user_name: str) -> SnRecord | None:
        return self.find_one("sys_user", f"user_name={user_name}")

    def group_members(self, group_name: str) -> tuple[str, ...]:
        group = self.find_one("sys_user_group", f"name={group_name}")
        if group is None:
            raise NotFound(f"ServiceNow group {group_name!r} does not exist", status=404)
        return tuple(m.get("user") for m in self.find("sys_user_grmember", f"group={group.sys_id}"))

    def add_group(self, name: str, *members: str) -> None:
        group = self.create("sys_user_group", {"name": name})
        for member in members:
            self.create("sys_user_grmember", {"group": group.sys_id, "user": member})


@pytest.fixture
def make_fake() -> type[FakeServiceNow]:
    return FakeServiceNow


@pytest.fixture
def fake() -> FakeServiceNow:
    gateway = FakeServiceNow()
    gateway.add_group("Engineering Leads", "lead.liam")
    gateway.add_group("Security Team", "sec.sara")
    gateway.writes.clear()
    return gateway


@pytest.fixture
def mapping():
    return load_mapping(MAPPING)


@pytest.fixture
def settings() -> Settings:
    return Settings(
        public_url="https://ecm.example.com/", servicenow_webhook_secret=SecretStr("hmac-key-never-shown")
    )
