"""Persistence: tables, unit of work, audit chain, migrations."""
