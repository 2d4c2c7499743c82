"""Inbound webhooks: signature checks and parsing into typed events, sans I/O."""
