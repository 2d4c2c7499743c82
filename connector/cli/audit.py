"""`ecm audit`."""

from __future__ import annotations

COMMANDS: list = []
