"""A stateful ServiceNow instance on loopback: Table API, state model, approvals, business rules, events."""

from sandbox.servicenow.app import create_app
from sandbox.servicenow.server import SandboxServiceNow, run

__all__ = ["SandboxServiceNow", "create_app", "run"]
