"""A stateful Jira (Cloud or Data Center) on loopback for the demo, the benchmarks and the tests."""

from sandbox.jira.app import create_app
from sandbox.jira.faults import FaultRule, Faults, WebhookFaults
from sandbox.jira.server import SandboxJira, run

__all__ = ["FaultRule", "Faults", "SandboxJira", "WebhookFaults", "create_app", "run"]
