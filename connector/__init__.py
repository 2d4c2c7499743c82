"""ECM Connector: ENG-PROC-004 enforced inside Jira and ServiceNow."""

__version__ = "0.1.0"
