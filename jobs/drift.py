"""The drift job (daily and at start): one pass of `connector.services.drift.detect_drift`."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from connector.services.drift import Doctor, detect_drift

if TYPE_CHECKING:
    from connector.bootstrap import Connector


def run(
    connector: Connector,
    doctors: Mapping[str, Doctor] | None = None,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    report = detect_drift(connector, doctors, sleep=sleep)
    unchecked = f" cannot_check={report.unchecked}" if report.unchecked else ""
    return f"ecm_drift_problems={report.problems}{unchecked}"
