"""Evidence for auditors: the packet of one change, the population of a period, summary figures.

Read-only over the store. The procedure core judges the facts (`connector.procedure.rules.evaluate`);
this package gathers, orders and renders them (JSON, CSV, one printable HTML page).
"""
