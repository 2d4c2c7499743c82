"""Structured logging: one JSON object per line (or readable text), with context and redaction.

How to log, everywhere in the connector — the standard library call, event name in kebab-case, fields as
`extra`:

    logger = logging.getLogger(__name__)
    logger.info("webhook-received", extra={"event_type": "jira:issue_updated"})
    logger.warning("outbox-retry", extra={"attempt": 3, "error": str(exc)})   # expected failure: one line
    logger.exception("outbox-crashed")                                        # unexpected: with traceback

Context that every line inside a block should carry (delivery id, tool, issue key) is set once:

    with log_context(delivery_id=delivery.id, tool="jira", issue_key="ECM-12"):
        ...

A JSON line has the keys `ts`, `level`, `event`, `logger`, then the context and the extra fields (and `exc`
with the traceback when there is one). Values of keys that look secret (token, secret, password,
authorization, cookie, api key) are replaced by `***`, at any depth, before anything is written.
"""

from __future__ import annotations

import contextvars
import functools
import json
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

MASK = "***"
SECRET_KEY = re.compile(r"token|secret|passw|authorization|cookie|api[_-]?key|credential", re.IGNORECASE)
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
_context: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("ecm_log_context", default={})  # noqa: B039
_HANDLER_NAME = "ecm"


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Add `fields` (None values are left out) to every log line written inside the block."""
    merged = {**_context.get(), **{k: v for k, v in fields.items() if v is not None}}
    token = _context.set(merged)
    try:
        yield
    finally:
        _context.reset(token)


@functools.lru_cache(maxsize=4096)
def _secret(key: str) -> bool:
    return bool(SECRET_KEY.search(key))


def redact(value: Any, key: str = "") -> Any:
    """`value` with every secret-looking key's value masked, recursively through dicts and lists."""
    if key and _secret(key):
        return MASK
    if value is None or isinstance(value, str | int | float):
        return value
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The context and `extra` fields of a record, redacted."""
    fields = _context.get().copy()
    for k, v in vars(record).items():
        if k not in _STANDARD_ATTRS and not k.startswith("_"):
            fields[k] = v
    return {k: redact(v, str(k)) for k, v in fields.items()}


_second: tuple[int, str] = (0, "")  # the last second written, as ISO text: most lines share it


def _timestamp(created: float, msecs: float) -> str:
    """`created` as ISO 8601 in UTC with milliseconds (`2026-12-01T20:20:24.308+00:00`)."""
    global _second
    second, cached = int(created), _second
    if cached[0] != second:
        cached = _second = (second, datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S"))
    return f"{cached[1]}.{int(msecs):03d}+00:00"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": _timestamp(record.created, record.msecs),
            "level": record.levelname.lower(),
            "event": record.getMessage(),
            "logger": record.name,
        }
        line.update({k: v for k, v in record_fields(record).items() if k not in line})
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%d %H:%M:%S")
        fields = " ".join(f"{k}={v}" for k, v in record_fields(record).items())
        text = f"{ts} {record.levelname:<7} {record.name}: {record.getMessage()} {fields}".rstrip()
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


FORMATTERS: dict[str, type[logging.Formatter]] = {"json": JsonFormatter, "text": TextFormatter}


def configure_logging(fmt: str = "json", level: str = "INFO", stream: Any = None) -> None:
    """Route every logger to one handler on stderr (or `stream`); calling it again replaces the handler."""
    if fmt not in FORMATTERS:
        raise ValueError(f"log format must be one of {', '.join(FORMATTERS)}, not {fmt!r}")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(FORMATTERS[fmt]())
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Neither format writes the thread or the caller's file and line: the records leave them out (the
    # "Optimization" section of the logging documentation). The process id stays: gunicorn's own
    # error log writes it (`[%(process)d]`) and fails to format a record without it.
    logging.logThreads = logging.logMultiprocessing = False
    logging._srcfile = None
