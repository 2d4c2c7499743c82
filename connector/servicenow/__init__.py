"""ServiceNow: gateway (the only module importing `pysnow`), installer, event translation."""
