"""Group commit (`connector.services.deliveries.Intake`): deliveries that arrive together are written in one
transaction, each request answered once that transaction is committed, with the outcomes
`deliveries.receive` gives one at a time."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import OperationalError

from connector.config import Settings
from connector.inbound.events import Delivery, Ignored
from connector.services.deliveries import Intake
from connector.store.tables import ChangeRow, DeliveryRow

from .test_deliveries import AT, comment, jira, register, rows


@dataclass
class Connector:
    database: object
    tools: dict
    settings: Settings = field(default_factory=Settings)


def ignored_delivery(delivery_id: str) -> tuple[Delivery, Ignored]:
    body = b'{"webhookEvent": "jira:issue_deleted"}'
    return Delivery("jira", delivery_id, "jira:issue_deleted", "TES-1", AT, body=body), Ignored("deleted")


def comment_delivery(delivery_id: str, key: str = "EMG-1", subject: str | None = None):
    event = comment(subject or f"comment:{delivery_id}")
    event = type(event)(**{**event.__dict__, "key": key})
    return Delivery("jira", delivery_id, "comment_created", key, AT, body=b"{}"), event


class HeldWriter(Intake):
    """An intake whose first batch waits until the test lets it go, so that the rest queue behind it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.first_taken = threading.Event()
        self.release = threading.Event()
        self.batches: list[int] = []

    def _write(self, batch):
        self.batches.append(len(batch))
        if len(self.batches) == 1:
            self.first_taken.set()
            assert self.release.wait(10)
        super()._write(batch)


def commits(database) -> list[int]:
    seen: list[int] = []
    event.listen(database.engine, "commit", lambda _conn: seen.append(1))
    return seen


def statements_of_ignored(intake: Intake) -> list[int]:
    """The rows of each batch of ignored deliveries written as one statement, its own transaction."""
    seen: list[int] = []
    writer = intake._ignored_writer
    record = writer.record
    writer.record = lambda rows: (seen.append(len(rows)), record(rows))[1]
    return seen


def driver_error(database) -> type[Exception]:
    """The database driver's own base error, which the statement of ignored deliveries raises as it came."""
    return database.engine.dialect.loaded_dbapi.Error


@contextmanager
def deliveries_refused(database) -> Iterator[None]:
    """The database itself refuses every new row of `deliveries` (a trigger raising), as a full disk or a
    lost server would fail the statement: whatever a statement wrote before the failure is undone."""
    if database.dialect == "sqlite":
        create = [
            "CREATE TRIGGER refuse_deliveries BEFORE INSERT ON deliveries "
            "BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"
        ]
        drop = ["DROP TRIGGER refuse_deliveries"]
    else:
        create = [
            "CREATE FUNCTION refuse_deliveries() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'disk I/O error'; END $$",
            "CREATE TRIGGER refuse_deliveries BEFORE INSERT ON deliveries "
            "FOR EACH ROW EXECUTE FUNCTION refuse_deliveries()",
        ]
        drop = ["DROP TRIGGER refuse_deliveries ON deliveries", "DROP FUNCTION refuse_deliveries()"]
    with database.engine.begin() as connection:
        for statement in create:
            connection.execute(text(statement))
    try:
        yield
    finally:
        with database.engine.begin() as connection:
            for statement in drop:
                connection.execute(text(statement))


def queue_behind_a_held_batch(intake: HeldWriter, work: list, *, waiting: int):
    """Send the first item, hold its batch, queue the others, then let everything go; the outcomes."""
    pool = ThreadPoolExecutor(max_workers=len(work))
    first = pool.submit(intake.receive, *work[0])
    assert intake.first_taken.wait(10)
    rest = [pool.submit(intake.receive, *item) for item in work[1:]]
    deadline = threading.Event()
    while len(intake._queue) < waiting and not deadline.wait(0.01):
        pass
    intake.release.set()
    futures = [first, *rest]
    pool.shutdown(wait=True)
    return futures


def test_deliveries_that_arrive_together_are_committed_in_one_transaction(database, ctx):
    intake = HeldWriter(Connector(database, jira(ctx)))
    seen, alone = commits(database), statements_of_ignored(intake)
    work = [ignored_delivery(f"i-{n}") for n in range(20)] + [comment_delivery(f"c-{n}") for n in range(5)]
    futures = queue_behind_a_held_batch(intake, work, waiting=24)
    outcomes = [f.result() for f in futures]
    assert outcomes == ["ignored"] * 20 + ["handled"] * 5
    assert intake.batches == [1, 24]
    # one transaction per batch, not per delivery: the first (one ignored delivery) a statement of its
    # own, the second (19 ignored, 5 with commands) one unit of work and its commit
    assert alone == [1]
    assert len(seen) == 1
    stored = {r.delivery_id: r.outcome for r in rows(database, DeliveryRow)}
    assert stored == {**{f"i-{n}": "ignored" for n in range(20)}, **{f"c-{n}": "handled" for n in range(5)}}


def test_a_delivery_id_seen_before_or_twice_in_a_batch_is_a_duplicate(database, ctx):
    assert Intake(Connector(database, jira(ctx))).receive(*ignored_delivery("d-old")) == "ignored"
    intake = HeldWriter(Connector(database, jira(ctx)))
    work = [
        ignored_delivery("d-0"),
        ignored_delivery("d-1"),
        ignored_delivery("d-1"),
        ignored_delivery("d-old"),
    ]
    work += [comment_delivery("c-1"), comment_delivery("c-1")]
    futures = queue_behind_a_held_batch(intake, work, waiting=5)
    assert [f.result() for f in futures] == [
        "ignored",
        "ignored",
        "duplicate",
        "duplicate",
        "handled",
        "duplicate",
    ]
    assert sorted(r.delivery_id for r in rows(database, DeliveryRow)) == ["c-1", "d-0", "d-1", "d-old"]


def test_the_same_comment_under_two_delivery_ids_in_one_batch_is_processed_once(database, ctx):
    intake = HeldWriter(Connector(database, jira(ctx)))
    work = [
        ignored_delivery("first"),
        comment_delivery("a", subject="comment:1"),
        comment_delivery("b", subject="comment:1"),
    ]
    futures = queue_behind_a_held_batch(intake, work, waiting=2)
    assert [f.result() for f in futures] == ["ignored", "handled", "duplicate"]
    assert {r.delivery_id: r.outcome for r in rows(database, DeliveryRow)}["b"] == "duplicate"


def test_a_delivery_that_fails_is_rolled_back_alone_and_its_request_hears_the_error(database, ctx):
    def translate(event, origin):
        if event.key == "EMG-BAD":
            return [*register(event, origin), "not a command"]  # registered, then services.handle fails
        return register(event, origin)

    intake = HeldWriter(Connector(database, jira(ctx, translate)))
    work = [ignored_delivery("i-0"), comment_delivery("ok-1"), comment_delivery("bad", key="EMG-BAD")]
    work += [comment_delivery("ok-2", key="EMG-2"), ignored_delivery("i-1")]
    futures = queue_behind_a_held_batch(intake, work, waiting=4)
    assert [f.result() for f in (futures[0], futures[1], futures[3], futures[4])] == [
        "ignored",
        "handled",
        "handled",
        "ignored",
    ]
    with pytest.raises(Exception):  # noqa: B017 - whatever the handler raised reaches the request
        futures[2].result()
    assert sorted(r.delivery_id for r in rows(database, DeliveryRow)) == ["i-0", "i-1", "ok-1", "ok-2"]
    assert sorted(r.key for r in rows(database, ChangeRow)) == ["EMG-1", "EMG-2"]


def test_when_the_batch_cannot_be_committed_every_request_hears_it_and_nothing_is_stored(database, ctx):
    intake = HeldWriter(Connector(database, jira(ctx)))

    def refuse(_conn):
        raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

    event.listen(database.engine, "commit", refuse)
    work = [ignored_delivery("i-0"), ignored_delivery("i-1"), comment_delivery("c-1")]
    futures = queue_behind_a_held_batch(intake, work, waiting=2)
    assert futures[0].result() == "ignored"  # the first batch, its own statement, had nothing to refuse
    for future in futures[1:]:
        with pytest.raises(OperationalError):
            future.result()
    event.remove(database.engine, "commit", refuse)
    assert [r.delivery_id for r in rows(database, DeliveryRow)] == ["i-0"]


def test_when_a_batch_of_ignored_deliveries_fails_every_request_hears_it_and_none_is_stored(database, ctx):
    intake = HeldWriter(Connector(database, jira(ctx)))
    work = [ignored_delivery(f"i-{n}") for n in range(4)]
    with deliveries_refused(database):
        futures = queue_behind_a_held_batch(intake, work, waiting=3)
        for future in futures:
            with pytest.raises(driver_error(database), match="disk I/O error"):
                future.result()
    assert intake.batches == [1, 3]
    assert rows(database, DeliveryRow) == []
    assert intake.receive(*ignored_delivery("i-1")) == "ignored"  # sent again, on a new connection


def test_after_a_batch_that_failed_the_next_delivery_is_written(database, ctx):
    intake = Intake(Connector(database, jira(ctx)))
    with deliveries_refused(database), pytest.raises(driver_error(database)):
        intake.receive(*ignored_delivery("a"))
    assert intake.receive(*ignored_delivery("a")) == "ignored"  # sent again by the tool
    assert intake.receive(*ignored_delivery("b")) == "ignored"
    with database.session() as session:
        assert sorted(session.scalars(select(DeliveryRow.delivery_id))) == ["a", "b"]


def test_deliveries_from_many_threads_are_each_answered_once_committed(database, ctx):
    intake = Intake(Connector(database, jira(ctx)), max_batch=4)
    work = [ignored_delivery(f"i-{n}") for n in range(60)] + [comment_delivery(f"c-{n}") for n in range(10)]
    with ThreadPoolExecutor(max_workers=12) as pool:
        outcomes = list(pool.map(lambda item: intake.receive(*item), work))
    assert outcomes == ["ignored"] * 60 + ["handled"] * 10
    assert len(rows(database, DeliveryRow)) == 70
