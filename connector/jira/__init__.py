"""Jira: gateway (the only module importing `jira`), installer, event translation."""
