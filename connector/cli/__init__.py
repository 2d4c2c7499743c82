"""The `ecm` command line. Each command group lives in its own module of this package.

Exit codes: 0 ok, 1 a check failed, 2 usage error (bad arguments or input).
"""

from __future__ import annotations

import click

from connector import __version__
from connector.cli import (
    audit,
    db,
    deadline,
    demo,
    evidence,
    gate,
    install,
    jobs,
    mappings,
    outbox,
    sandbox,
    serve,
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ecm")
def cli() -> None:
    """ECM Connector: enforce ENG-PROC-004 (emergency changes) in Jira and ServiceNow."""


for module in (serve, deadline, mappings, db, audit, evidence, gate, sandbox, install, demo, jobs, outbox):
    for command in module.COMMANDS:
        cli.add_command(command)


def main() -> None:
    cli(prog_name="ecm")
