"""The deploys' tests read the evidence over the same app and database as the evidence tests."""

from tests.integration.evidence.conftest import auth, client, connector, drive  # noqa: F401
