"""Entry points whose features are not available yet; each says so clearly and exits 2."""

from __future__ import annotations

import click


def _not_yet(name: str, summary: str) -> click.Command:
    @click.command(
        name=name,
        help=f"{summary} (not available yet).",
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )
    def command() -> None:
        raise click.UsageError(f"'ecm {name}' is not available yet in this version.")

    return command


COMMANDS = [
]
