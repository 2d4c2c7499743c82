"""Local Jira and ServiceNow simulators for the demo and the tests."""
