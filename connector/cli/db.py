"""`ecm db`."""

from __future__ import annotations

COMMANDS: list = []
