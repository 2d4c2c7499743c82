"""The configurable parts of the procedure. Comes from the mapping; the core only reads it."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, tzinfo

DEFAULT_CATEGORIES = ("Service outage", "Data corruption", "Security vulnerability", "Customer impact")


@dataclass(frozen=True)
class Policy:
    verbal_confirmation_business_days: int = 1  # R4: written confirmation of a verbal approval
    postmortem_business_days: int = 3  # R7: post-mortem due this many business days after deploy
    require_docs: bool = True  # R8: closing needs the standard change documentation
    categories: tuple[str, ...] = DEFAULT_CATEGORIES  # R1: critical issue categories
    close_code_documents_change: bool = False  # R8: a close code counts as the change documentation
    zone: tzinfo = UTC  # the calendar's zone: the rules' words show times in it, with UTC beside

    def __post_init__(self) -> None:
        if self.verbal_confirmation_business_days < 1 or self.postmortem_business_days < 1:
            raise ValueError("business day counts of the policy must be at least 1")
        if not self.categories:
            raise ValueError("the policy needs at least one critical issue category")

    def category(self, text: str | None) -> str | None:
        """The configured category matching `text` case-insensitively, or None."""
        return _matching(self.categories, text)


@functools.lru_cache(maxsize=1024)
def _matching(categories: tuple[str, ...], text: str | None) -> str | None:
    """Cached: a period's changes name few distinct categories, and every rule that needs R1 asks."""
    wanted = (text or "").strip().casefold()
    return next((c for c in categories if c.casefold() == wanted), None)
