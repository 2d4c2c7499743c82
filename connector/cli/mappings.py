"""`ecm mappings`."""

from __future__ import annotations

COMMANDS: list = []
