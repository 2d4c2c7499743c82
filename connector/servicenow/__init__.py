"""ServiceNow: the adapter (`ADAPTER`), the gateway (the only module importing `pysnow`), installer,
doctor, event translation, outbound actions and reconciliation history."""

from connector.servicenow.adapter import ADAPTER

__all__ = ["ADAPTER"]
