"""The SLA job: one pass of `connector.sla.run_sla` (every minute)."""

from __future__ import annotations

from typing import Any

from connector.sla import run_sla


def run(connector: Any) -> str:
    report = run_sla(connector)
    sent = " ".join(f"{kind}={n}" for kind, n in sorted(report.sent.items()))
    return f"checked={report.checked}" + (f" {sent}" if sent else "") if report.checked else ""
