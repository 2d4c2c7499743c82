"""`ecm doctor` tells a Jira that did not answer (429, 5xx) apart from a Jira set up wrongly."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.errors import AuthFailed, RateLimited, Unavailable
from connector.jira.doctor import doctor
from connector.mapping import load_mapping

MAPPING = load_mapping(Path(__file__).parents[3] / "mappings" / "jira-cloud.yaml")


class Refusing:
    url, flavor = "https://jira.example.com", "cloud"

    def __init__(self, error: Exception) -> None:
        self.error = error

    def myself(self):
        raise self.error


@pytest.mark.parametrize("error", [RateLimited("myself: HTTP 429", status=429), Unavailable("myself: 503")])
def test_a_rate_limited_or_unavailable_jira_is_a_check_that_could_not_be_made(error):
    [check] = doctor(MAPPING, Refusing(error))  # type: ignore[arg-type]
    assert not check.ok and check.transient
    assert check.render().startswith("????")


def test_a_refused_account_is_a_failing_check():
    [check] = doctor(MAPPING, Refusing(AuthFailed("myself: HTTP 401", status=401)))  # type: ignore[arg-type]
    assert not check.ok and not check.transient
