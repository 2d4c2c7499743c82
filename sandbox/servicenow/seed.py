"""The people and groups every sandbox instance starts with (password = user name)."""

from __future__ import annotations

import hashlib

from sandbox.servicenow.schema import TABLES
from sandbox.servicenow.store import Store

USERS = (
    ("eng.emma", "Emma", "Engineer", "itil"),
    ("peer.pete", "Pete", "Peer", "itil"),
    ("lead.liam", "Liam", "Lead", "itil,approver_user"),
    ("sec.sara", "Sara", "Security", "itil,approver_user"),
    ("dual.dana", "Dana", "Dual", "itil,approver_user"),
    ("cab.carl", "Carl", "Cab", "itil,approver_user"),
    ("ecm-bot", "ECM", "Connector", "admin,itil,security_admin"),
    ("admin", "System", "Administrator", "admin"),
)
GROUPS = (
    ("Engineering Leads", "Approve emergency changes (ENG-PROC-004 step 2)", ("lead.liam", "dual.dana")),
    ("Security Team", "Approve and security-review emergency changes", ("sec.sara", "dual.dana")),
    ("Change Advisory Board", "CAB: the emergency change model's default approvers", ("cab.carl",)),
)


def stable_sys_id(kind: str, name: str) -> str:
    """Seeded records get the same sys_id in every run, so tests and demos can name them."""
    return hashlib.sha256(f"{kind}:{name}".encode()).hexdigest()[:32]


def seed(store: Store) -> None:
    ids: dict[str, str] = {}
    for user_name, first, last, roles in USERS:
        ids[user_name] = stable_sys_id("sys_user", user_name)
        store.insert(
            TABLES["sys_user"],
            {
                "sys_id": ids[user_name],
                "user_name": user_name,
                "first_name": first,
                "last_name": last,
                "name": f"{first} {last}",
                "email": f"{user_name}@example.com",
                "roles": roles,
            },
            "system",
        )
    for name, description, members in GROUPS:
        group_id = stable_sys_id("sys_user_group", name)
        store.insert(
            TABLES["sys_user_group"],
            {
                "sys_id": group_id,
                "name": name,
                "description": description,
                "email": name.lower().replace(" ", "-") + "@example.com",
            },
            "system",
        )
        for member in members:
            store.insert(TABLES["sys_user_grmember"], {"user": ids[member], "group": group_id}, "system")
