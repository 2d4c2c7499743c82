"""The SLA job: one pass of `connector.services.sla.run_sla` (every minute)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from connector.services.sla import run_sla

if TYPE_CHECKING:
    from connector.bootstrap import Connector


def run(connector: Connector) -> str:
    report = run_sla(connector)
    sent = " ".join(f"{kind}={n}" for kind, n in sorted(report.sent.items()))
    return f"checked={report.checked}" + (f" {sent}" if sent else "") if report.checked else ""
