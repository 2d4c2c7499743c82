"""Log lines are JSON objects (or readable text) carrying the context, with secrets masked."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from connector.logs import configure_logging, log_context, redact

logger = logging.getLogger("connector.test")


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    out = io.StringIO()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    configure_logging("json", "DEBUG", stream=out)
    yield out
    root.handlers[:] = handlers
    root.setLevel(level)


def _lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_line_is_one_json_object_with_the_event_and_its_fields(stream: io.StringIO) -> None:
    logger.info("webhook-received", extra={"event_type": "jira:issue_updated", "size": 812})
    [line] = _lines(stream)
    assert line["event"] == "webhook-received" and line["level"] == "info"
    assert line["logger"] == "connector.test" and line["ts"].endswith("+00:00")
    assert (line["event_type"], line["size"]) == ("jira:issue_updated", 812)


def test_every_line_inside_a_context_carries_it_and_nested_contexts_add_to_it(stream: io.StringIO) -> None:
    with log_context(delivery_id="d-1", tool="jira"):
        logger.info("webhook-received")
        with log_context(issue_key="ECM-7"):
            logger.warning("transition-reverted")
    logger.info("outside")
    first, second, outside = _lines(stream)
    assert (first["delivery_id"], first["tool"]) == ("d-1", "jira") and "issue_key" not in first
    assert (second["delivery_id"], second["issue_key"]) == ("d-1", "ECM-7")
    assert "delivery_id" not in outside


def test_secret_looking_keys_are_masked_at_any_depth(stream: io.StringIO) -> None:
    logger.info(
        "jira-call",
        extra={
            "headers": {"Authorization": "Basic abc123", "Accept": "json"},
            "api_token": "abc123",
            "config": [{"password": "abc123", "user": "svc"}],
            "webhook_secret": "abc123",
        },
    )
    raw = stream.getvalue()
    assert "abc123" not in raw
    line = json.loads(raw)
    assert line["headers"] == {"Authorization": "***", "Accept": "json"}
    assert line["config"] == [{"password": "***", "user": "svc"}]


def test_an_unexpected_error_logs_its_traceback(stream: io.StringIO) -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logger.exception("outbox-crashed")
    [line] = _lines(stream)
    assert line["level"] == "error" and "RuntimeError: boom" in line["exc"]


def test_text_format_is_readable_and_masks_secrets_too(stream: io.StringIO) -> None:
    out = io.StringIO()
    configure_logging("text", "INFO", stream=out)
    with log_context(issue_key="ECM-7"):
        logger.info("comment-posted", extra={"token": "abc123"})
        logger.debug("not-shown")
    text = out.getvalue()
    assert "INFO    connector.test: comment-posted" in text
    assert "issue_key=ECM-7" in text and "token=***" in text
    assert "abc123" not in text and "not-shown" not in text
    assert stream.getvalue() == ""  # configuring again replaced the handler


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="json, text"):
        configure_logging("xml")


def test_redact_leaves_ordinary_values_alone() -> None:
    assert redact({"issue_key": "ECM-1", "n": [1, 2]}) == {"issue_key": "ECM-1", "n": [1, 2]}


def test_gunicorns_own_lines_still_format_once_logging_is_configured(stream: io.StringIO, capsys) -> None:
    from gunicorn.config import Config
    from gunicorn.glogging import Logger

    configure_logging("json", stream=stream)
    Logger(Config()).info("Listening at: %s (%s)", "http://127.0.0.1:8080", 4242)

    assert "Logging error" not in capsys.readouterr().err
