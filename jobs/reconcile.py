"""The reconciliation job: replay what each tool changed since its watermark (every N minutes)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from connector.errors import ApiError
from connector.reconcile import reconcile

log = logging.getLogger("jobs.reconcile")

if TYPE_CHECKING:
    from connector.bootstrap import Connector


def run(connector: Connector) -> str:
    parts = []
    for name in connector.tools:
        try:
            report = reconcile(connector, name)
        except ApiError as error:  # the tool is down: the watermark stays, the next run catches up
            log.warning("reconcile-tool-unavailable", extra={"tool": name, "error": str(error)})
            parts.append(f"{name}: unavailable")
            continue
        counts = " ".join(f"{k}={v}" for k, v in sorted(report.outcomes.items()))
        parts.append(f"{name}: {counts or 'nothing new'}")
    return "; ".join(parts)
