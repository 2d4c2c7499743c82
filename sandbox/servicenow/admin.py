"""The sandbox's own admin surface under /_sandbox: faults, state, reset of counters."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import asdict
from typing import TYPE_CHECKING

from flask import Flask, Response, jsonify, request

from sandbox.servicenow.faults import Faults, FaultSpecError

if TYPE_CHECKING:
    from sandbox.servicenow.engine import Instance

_STATE_TABLES = (
    "change_request",
    "change_task",
    "sysapproval_approver",
    "sys_journal_field",
    "sysevent",
    "sys_email",
    "task_sla",
    "sys_script",
    "sys_properties",
)


def register_admin(
    app: Flask, instance: Instance, faults: Faults, counts: Counter[str], fail: Callable[..., Response]
) -> None:
    @app.post("/_sandbox/faults")
    def set_faults() -> Response:
        spec = request.get_json(silent=True)
        if not isinstance(spec, dict):
            return fail(400, "Invalid fault description", "Send a JSON object")
        try:
            faults.configure(spec)
        except (FaultSpecError, TypeError, ValueError) as error:
            return fail(400, "Invalid fault description", str(error))
        return jsonify(faults=faults.spec)

    @app.delete("/_sandbox/faults")
    def clear_faults() -> Response:
        faults.clear()
        return jsonify(faults=faults.spec)

    @app.get("/_sandbox/state")
    def state() -> Response:
        return jsonify(
            request_counts=dict(counts),
            records={table: len(instance.store.rows(table)) for table in _STATE_TABLES},
            emails=instance.store.rows("sys_email"),
            events=instance.store.rows("sysevent"),
            deliveries=[
                {k: v for k, v in asdict(d).items() if k != "payload"}
                | {"table": d.payload.get("table"), "operation": d.payload.get("operation")}
                for d in list(instance.notifier.deliveries)
            ],
            faults=faults.spec,
        )
