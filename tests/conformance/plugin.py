"""Record every sandbox Jira's requests for the whole session; fail a test whose connector requests
do not conform to the OpenAPI document, naming the request, the operation and the schema error.

Loaded from `tests/conftest.py`. Requests recorded while a test runs (its fixtures included) are
judged when it ends; requests made outside any test (a module fixture's teardown) at session end.
Only requests built by the connector's gateway are judged; the other clients' (the tests' own
`jira`/`requests` calls, the browser) are counted in the summary.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

from tests.conformance import offdocument
from tests.conformance.judge import Mismatch, judge
from tests.conformance.recorder import Exchange, RequestLog, recording

LOG = RequestLog()
JUDGED: Counter[str] = Counter()
OFF_DOCUMENT: Counter[str] = Counter()  # connector requests to endpoints the document lacks
LEFTOVER: list[Mismatch] = []


def mismatches(exchanges: list[Exchange]) -> list[Mismatch]:
    found: list[Mismatch] = []
    for exchange in exchanges:
        JUDGED["connector" if exchange.by_connector else "other"] += 1
        if exchange.by_connector:
            found += judge(exchange)
            endpoint = offdocument.find(exchange.path)
            if endpoint is not None:
                OFF_DOCUMENT[endpoint.name] += 1
    JUDGED["mismatches"] += len(found)
    return found


def report(found: list[Mismatch]) -> str:
    lines = [f"{len(found)} Jira request(s) sent by the connector do not conform to the OpenAPI document:"]
    return "\n".join([*lines, *(m.render() for m in found)])


@pytest.fixture(scope="session", autouse=True)
def jira_requests_recorded() -> Iterator[RequestLog]:
    with recording(LOG):
        yield LOG


@pytest.fixture(autouse=True)
def jira_requests_conform(
    request: pytest.FixtureRequest, jira_requests_recorded: RequestLog
) -> Iterator[None]:
    jira_requests_recorded.test = request.node.nodeid
    yield
    jira_requests_recorded.test = ""
    found = mismatches(_unjudged(jira_requests_recorded))
    if found:
        pytest.fail(report(found), pytrace=False)


_CURSOR = [0]  # how far the log has been judged


def _unjudged(log: RequestLog) -> list[Exchange]:
    exchanges = log.since(_CURSOR[0])
    _CURSOR[0] += len(exchanges)
    return exchanges


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    LEFTOVER.extend(mismatches(_unjudged(LOG)))
    if LEFTOVER and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if LEFTOVER:
        terminalreporter.section("Jira request conformance", red=True)
        terminalreporter.write_line(report(LEFTOVER))
    elif JUDGED["connector"] or JUDGED["other"]:
        terminalreporter.write_line(
            f"Jira request conformance: {JUDGED['connector']} connector request(s) judged, "
            f"{JUDGED['mismatches']} mismatch(es) ({JUDGED['other']} from other clients not judged)"
        )
    for endpoint in offdocument.ENDPOINTS:
        if OFF_DOCUMENT[endpoint.name]:
            terminalreporter.write_line(
                f"  not in the document, checked by its own schema: {endpoint.name} "
                f"x{OFF_DOCUMENT[endpoint.name]} ({endpoint.why})"
            )
