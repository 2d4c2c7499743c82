"""Record who the people of a command are (display name, e-mail) when the fact is recorded."""

from __future__ import annotations

from connector import commands as c
from connector.services.ports import UnitOfWork
from connector.tools import ToolContext

PERSON_FIELDS = ("actor", "engineer", "approver")  # command fields that hold an identity


def remember_people(uow: UnitOfWork, command: c.Command, ctx: ToolContext) -> None:
    for field in PERSON_FIELDS:
        identity = getattr(command, field, None)
        if identity:
            _, name, email = ctx.person(identity)
            uow.people.remember(command.tool, identity, name or identity, email, command.at)
