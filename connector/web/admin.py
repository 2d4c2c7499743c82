"""The admin API under /api: changes, their evidence packets, the population export, summary figures,
and the pipeline gate.

Every view needs `Authorization: Bearer <ECM_ADMIN_TOKEN>` (see auth.py), the gate takes ECM_GATE_TOKEN
as well; the OpenAPI document at /api/openapi.json describes them all and is public.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from flask import Blueprint, Response, jsonify, request, stream_with_context

from connector.evidence.gate import UnknownStage, gate
from connector.evidence.listing import BadFilter, ChangeFilter, list_changes
from connector.evidence.packet import build_packet
from connector.evidence.population import csv_chunks, json_chunks, population
from connector.evidence.render_html import packet_page
from connector.evidence.rulebook import RuleBook
from connector.evidence.summary import summary
from connector.store.evidence import ChangeNotFound
from connector.web.auth import require_gate_token, require_token
from connector.web.errors import error_response
from connector.web.openapi import document, documented_parameters
from connector.web.state import current_connector

bp = Blueprint("admin", __name__, url_prefix="/api")
DEFAULT_PERIOD = timedelta(days=90)
# The words an OpenAPI boolean query parameter is read from (as openapi-core reads them).
BOOLEANS = {word: True for word in ("true", "1", "yes", "y", "t", "on")} | {
    word: False for word in ("false", "0", "no", "n", "f", "off")
}


def rulebook() -> RuleBook:
    return RuleBook.from_connector(current_connector())


T = TypeVar("T", int, None)


def _int(name: str, default: T) -> int | T:
    """A whole number, as the OpenAPI document says; absent means `default`, anything else is a 400."""
    value = request.args.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise BadFilter(f"{name}: must be a whole number") from None


def _bool(name: str) -> bool:
    """`true` or `false` (or 1/0, yes/no: an OpenAPI boolean in a query); absent means false."""
    value = request.args.get(name)
    if value is None:
        return False
    if value.lower() not in BOOLEANS:
        raise BadFilter(f"{name}: must be true or false")
    return BOOLEANS[value.lower()]


def _day(name: str) -> datetime | None:
    value = request.args.get(name)
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise BadFilter(f"{name}: must be a date YYYY-MM-DD") from None


def period(now: datetime) -> tuple[datetime, datetime]:
    """[from, to + 1 day) from the `from` / `to` parameters; the last 90 days by default."""
    first, last = _day("from"), _day("to")
    try:
        end = last + timedelta(days=1) if last else now
        start = first or end - DEFAULT_PERIOD
    except OverflowError:  # 9999-12-31 has no next day, 0001-01-01 no 90 days before
        raise BadFilter("to: must be a date with a day after it and 90 days before it") from None
    if end <= start:
        raise BadFilter("to: must not be before from")
    return start, end


@bp.before_request
def _known_parameters_only() -> None:
    """A query parameter the document does not name is a 400, not silently ignored: a mistyped `from`
    must not turn an auditor's export into the default period."""
    rule = request.url_rule.rule if request.url_rule else ""
    known = documented_parameters(rule)
    unknown = sorted(name for name in request.args if name not in known)
    if known is not None and unknown:
        expected = ", ".join(sorted(known)) or "none"
        raise BadFilter(f"{unknown[0]}: not a query parameter of this endpoint (it takes: {expected})")


@bp.errorhandler(BadFilter)
def _bad_filter(exc: BadFilter) -> tuple[Response, int]:
    return error_response(400, "bad request", str(exc))


@bp.errorhandler(UnknownStage)
def _unknown_stage(exc: UnknownStage) -> tuple[Response, int]:
    return error_response(400, "bad request", str(exc))


@bp.errorhandler(ChangeNotFound)
def _not_found(exc: ChangeNotFound) -> tuple[Response, int]:
    return error_response(404, "not found", str(exc))


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(document())


@bp.get("/changes")
@require_token
def changes() -> Response:
    wanted = ChangeFilter(  # an empty value is not "any": the document lists what each one may be
        stage=request.args.get("stage"),
        status=request.args.get("status"),
        tool=request.args.get("tool"),
        overdue=_bool("overdue"),
        limit=_int("limit", 50),
        offset=_int("offset", 0),
        cursor=_int("cursor", None),
    )
    with current_connector().database.session() as session:
        return jsonify(list_changes(session, wanted, rulebook().clock()))


@bp.get("/changes/<key>")
@require_token
def change(key: str) -> Response:
    packet = _packet(key)
    return jsonify({**packet["change"], "rules": packet["rules"], "approvals": packet["approvals"]})


@bp.get("/changes/<key>/gate")
@require_gate_token
def change_gate(key: str) -> Response:
    """May the change enter `to` now? What a pipeline asks before it deploys."""
    with current_connector().database.session() as session:
        answer = gate(session, key, request.args.get("to"), rulebook(), request.args.get("tool") or None)
    return jsonify(answer)


@bp.get("/changes/<key>/evidence")
@require_token
def evidence(key: str) -> Response:
    fmt = _format("json", "html")
    packet = _packet(key)
    if fmt == "html":
        return Response(packet_page(packet), mimetype="text/html")
    return jsonify(packet)


def _format(*known: str) -> str:
    fmt = request.args.get("format", known[0])
    if fmt not in known:
        raise BadFilter(f"format: must be {' or '.join(known)}")
    return fmt


def _packet(key: str) -> dict[str, Any]:
    with current_connector().database.session() as session:
        return build_packet(session, key, rulebook(), tool=request.args.get("tool") or None)


@bp.get("/evidence/population")
@require_token
def population_export() -> Response:
    fmt = _format("json", "csv")
    book = rulebook()
    start, end = period(book.clock())
    database = current_connector().database

    def chunks() -> Any:
        with database.session() as session:
            rows = population(session, start, end, book)
            if fmt == "csv":
                yield from csv_chunks(rows)
            else:
                yield from json_chunks(rows, {"summary": summary(session, start, end, book.clock())})

    mimetype = "text/csv" if fmt == "csv" else "application/json"
    name = f"emergency-changes-{start:%Y%m%d}-{end - timedelta(days=1):%Y%m%d}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(stream_with_context(chunks()), mimetype=mimetype, headers=headers)


@bp.get("/metrics/summary")
@require_token
def metrics_summary() -> Response:
    book = rulebook()
    start, end = period(book.clock())
    with current_connector().database.session() as session:
        return jsonify(summary(session, start, end, book.clock()))
