"""The gate's tests drive changes as the evidence tests do, over the same app and database."""

from tests.integration.evidence.conftest import auth, client, connector, drive  # noqa: F401
