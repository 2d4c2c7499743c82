"""`ecm deadline`."""

from __future__ import annotations

COMMANDS: list = []
