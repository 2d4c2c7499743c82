"""The ServiceNow side of the demo, on loopback in one process: the ServiceNow sandbox, the connector's
web service and its outbox dispatcher. The end-to-end tests use it too.

`ecm install` runs against the sandbox first (business rules, properties, events and e-mail
notifications), so the sandbox posts signed notifications to the service exactly as an instance
with the installed rules would, and the dispatcher writes back through the real `pysnow` gateway.
"""

from __future__ import annotations

from connector.demo.stack import REPO, LocalStack

DEFAULT_MAPPING = REPO / "mappings" / "servicenow.yaml"
CONNECTOR_USER = "ecm-bot"  # seeded with the admin role; password = user name in the sandbox


class ServiceNowStack(LocalStack):
    tool = "servicenow"
    secret_variable = "ECM_SERVICENOW_WEBHOOK_SECRET"  # noqa: S105 - a variable name, not a secret
    default_mapping = DEFAULT_MAPPING

    def _start_sandbox(self) -> str:
        from sandbox.servicenow.server import SandboxServiceNow

        self.sandbox = SandboxServiceNow(**{"clock": self.clock, **self.sandbox_options})
        return self.sandbox.start()

    def _tool_environ(self, sandbox_url: str) -> dict[str, str]:
        return {
            "ECM_SERVICENOW_URL": sandbox_url,
            "ECM_SERVICENOW_USER": CONNECTOR_USER,
            "ECM_SERVICENOW_PASSWORD": CONNECTOR_USER,
            "ECM_SERVICENOW_WEBHOOK_SECRET": self.secret,
        }

    def _wait_delivered(self, timeout: float) -> None:
        self.sandbox.wait_for_notifications(timeout=timeout)
