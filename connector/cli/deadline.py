"""`ecm deadline`: when a post-mortem is due (R7) for a deploy, in the organisation's calendar."""

from __future__ import annotations

from datetime import date, datetime

import click


def _deployed_at(ctx: click.Context, param: click.Parameter, value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 date and time", ctx, param) from None
    if moment.utcoffset() is None:
        raise click.BadParameter(
            f"{value!r} has no UTC offset; give one, e.g. 2026-12-24T15:00:00-05:00 or ...Z", ctx, param
        )
    return moment


def _closures(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[date, ...]:
    try:
        return tuple(date.fromisoformat(v) for v in values)
    except ValueError as e:
        raise click.BadParameter(f"closures are dates as YYYY-MM-DD ({e})", ctx, param) from None


@click.command()
@click.option(
    "--deployed-at", required=True, callback=_deployed_at, help="Deploy time, ISO 8601 with offset."
)
@click.option("--timezone", "timezone", required=True, help="IANA time zone, e.g. America/New_York.")
@click.option("--country", required=True, help="Holiday country, ISO 3166-1 alpha-2, e.g. US.")
@click.option("--subdivision", default=None, help="Holiday region of the country, e.g. MA or BY.")
@click.option(
    "--business-days", default=3, show_default=True, type=click.IntRange(min=1), help="Business days to add."
)
@click.option("--closure", "closures", multiple=True, callback=_closures, help="Extra closed day YYYY-MM-DD.")
def deadline(
    deployed_at: datetime,
    timezone: str,
    country: str,
    subdivision: str | None,
    business_days: int,
    closures: tuple[date, ...],
) -> None:
    """Print the post-mortem deadline: 23:59:59 local on the Nth business day after the deploy day."""
    from connector.mapping.calendar import build_calendar, public_holidays, zone

    for option, check in (
        ("--timezone", lambda: zone(timezone)),
        ("--country", lambda: public_holidays(country)),
    ):
        try:
            check()
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint=option) from None
    try:
        calendar = build_calendar(timezone, country, subdivision, closures)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--subdivision") from None
    click.echo(calendar.deadline(deployed_at, business_days).isoformat())


COMMANDS = [deadline]
