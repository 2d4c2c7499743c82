"""What kind of database a URL names, read without connecting (the settings check it at start)."""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


def backend_of(url: str) -> str:
    """ "sqlite", "postgresql", … for a database URL; ValueError when it is no database URL at all."""
    try:
        return make_url(url).get_backend_name()
    except ArgumentError:
        raise ValueError("not a valid database URL") from None
