"""`ecm mappings`: check mapping files and print their JSON Schema."""

from __future__ import annotations

from pathlib import Path

import click

from connector.errors import MappingError
from connector.mapping import load_mapping_text, mapping_json_schema_text

OK, INVALID, UNREADABLE = 0, 1, 2


def _check_one(path: Path) -> int:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        click.echo(f"{path}: cannot read the file ({getattr(e, 'strerror', None) or e})", err=True)
        return UNREADABLE
    try:
        mapping = load_mapping_text(text, str(path))
    except MappingError as e:
        click.echo(str(e), err=True)
        return INVALID
    click.echo(f"{path}: ok ({mapping.target}, version {mapping.version})")
    return OK


@click.group()
def mappings() -> None:
    """Check the admin-owned mapping files (mappings/*.yaml)."""


@mappings.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def check(files: tuple[Path, ...]) -> None:
    """Validate FILE... against the mapping schema; print every problem as file:path.to.key: message.

    Exit 0 when all are valid, 1 when one is invalid, 2 when one cannot be read.
    """
    status = max(_check_one(path) for path in files)
    if status:
        raise SystemExit(status)


@mappings.command()
def schema() -> None:
    """Print the JSON Schema of mapping files (the same as mappings/schema.json)."""
    click.echo(mapping_json_schema_text(), nl=False)


COMMANDS = [mappings]
