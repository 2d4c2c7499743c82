"""Scheduler process: SLA, outbox dispatch, reconciliation, drift."""
