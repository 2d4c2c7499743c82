"""Jira: the adapter (`ADAPTER`), the gateway (the only module importing `jira`), installer, doctor,
event translation, outbound actions and reconciliation history."""

from connector.jira.adapter import ADAPTER

__all__ = ["ADAPTER"]
