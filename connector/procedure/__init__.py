"""Pure procedure core: stages, rules R1-R10, business-day calendar. Standard library only."""
