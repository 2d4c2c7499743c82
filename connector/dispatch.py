"""The outbox dispatcher: performs pending outbound actions through the tool's actions, in order per
change, with retries (tenacity) that honour Retry-After, and marks an action dead after a limit.

Retries happen in three layers of one policy (connector/retries.py): each gateway call of an action
made again on its own when that repeats nothing (a read, an idempotent write, a 429), a few quick
attempts of the whole action (seconds), then the row rescheduled with exponential backoff and jitter
(from 1 s), so a long outage never blocks other changes.
Rows are claimed one at a time with `FOR UPDATE SKIP LOCKED` on PostgreSQL; only the oldest pending
row of a change can be claimed, so actions of one change run in order even with several workers.
A claimed `update_fields` row takes the change's `update_fields` rows queued right after it along:
one write to the tool for all of them, all marked done together. So does a `show_missing` row: the
next step's text queued last is the one shown, written once for the run of them. Rows are read as
typed actions (`connector/store/outbox.py`), which the tool's actions perform by their type.

A revert and a `catch_up` row are preceded by reading the change from the tool (`reconcile.catch_up`):
the revert is then judged again and dropped when its reason has gone (`services.reverts`); a change first
seen from a comment is so completed before it is judged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeVar, TypeVarTuple

import tenacity

from connector import commands as c
from connector import reconcile, retries, services
from connector.evidence.seal import seal
from connector.outbox import (
    Action,
    CatchUp,
    CreatePostMortem,
    OpenBypass,
    RecordEvidence,
    Revert,
    ShowMissing,
    Target,
    UpdateFields,
    with_names,
)
from connector.reconcile import ReconcileReport
from connector.services.reverts import reconsider_revert
from connector.store.outbox import decode, target
from connector.store.outbox import target as target_of
from connector.store.tables import OutboxRow
from connector.store.uow import CONFLICTS, UnitOfWork
from connector.tools import ToolRuntime

if TYPE_CHECKING:
    from connector.bootstrap import Connector

log = logging.getLogger("connector.dispatch")
T = TypeVar("T")
Ts = TypeVarTuple("Ts")  # the arguments of a call made again

MAX_ATTEMPTS = retries.SCHEDULED_ATTEMPTS  # scheduled attempts before an action is marked dead
MERGE_LIMIT = 20  # following update_fields (show_missing) rows of one change performed with the claimed one
CATCH_UP_FIRST = (Revert, CatchUp)  # actions preceded by reading the change from the tool
CaughtUp = ReconcileReport | Exception | None  # a catch-up's report, the error that stopped it, or none made
# The policy's names, as the dispatcher has always offered them (connector/retries.py holds them).
wait_retry_after, QUICK_WAIT, _retryable = retries.wait_retry_after, retries.QUICK_WAIT, retries.retryable
SCHEDULED_WAIT = retries.SCHEDULED_WAIT


def scheduled_delay(attempts: int, error: BaseException) -> float:
    state = tenacity.RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
    state.attempt_number = attempts
    state.outcome = tenacity.Future.construct(attempts, error, True)
    return SCHEDULED_WAIT(state)  # read here, so a test may scale it down


@dataclass
class DispatchReport:
    done: int = 0
    retried: int = 0
    dead: int = 0

    @property
    def total(self) -> int:
        return self.done + self.retried + self.dead


class Dispatcher:
    def __init__(
        self,
        connector: Connector,
        *,
        clock: Callable[[], datetime],
        sleep: Callable[[float], None] | None = None,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.connector, self.clock, self.max_attempts = connector, clock, max_attempts
        self.sleep = sleep or tenacity.nap.sleep
        self._caught_up: tuple[int | None, CaughtUp] = (None, None)  # (row id, catch-up report or error)

    def run(self, limit: int = 100) -> DispatchReport:
        """Dispatch due actions until none is left or `limit` were tried."""
        report = DispatchReport()
        while report.total < limit and self._one(report):
            pass
        return report

    def _one(self, report: DispatchReport) -> bool:
        first: tuple[int, Action, str, str | None] | None = None
        with UnitOfWork(self.connector.database) as uow:
            row = uow.outbox.claim_next(self.clock())
            if row is None:
                return False
            (upcoming, caught_up), self._caught_up = self._caught_up, (None, None)
            action = _typed(row)
            if isinstance(action, CATCH_UP_FIRST) and row.tool in self.connector.tools and row.id != upcoming:
                first = (row.id, action, row.tool, target_of(row.payload).key)
            else:  # the catch-up just made belongs to this row only (another may be claimed first)
                return self._claimed(uow, row, action, caught_up if row.id == upcoming else None, report)
        # Outside the row's transaction (SQLite has one writer at a time); the row is claimed again next.
        self._caught_up = self._catch_up(*first)
        return True

    def _claimed(
        self,
        uow: UnitOfWork,
        row: OutboxRow,
        action: Action | None,
        caught_up: CaughtUp,
        report: DispatchReport,
    ) -> bool:
        """Perform the claimed row, decided by the type of its action (None: one that cannot be read,
        which fails as it is performed)."""
        tool = self.connector.tools.get(row.tool)
        if isinstance(caught_up, Exception):
            self._failed(uow, row, caught_up, report)
            uow.commit()
            return True
        if isinstance(action, CatchUp):  # done by the catch-up itself
            row.status, row.done_at, row.last_error = "done", self.clock(), None
            row.result = {"caught_up": caught_up.outcomes if caught_up is not None else {}}
            report.done += 1
            uow.commit()
            return True
        if isinstance(action, Revert) and tool is not None:
            uow.audit.lock()  # the same lock order as every other writer: chain, then change
            reason = reconsider_revert(uow, row, tool.ctx, self.clock())
            if reason is not None:
                row.status, row.done_at, row.last_error = "done", self.clock(), None
                row.result = {"skipped": reason}
                report.done += 1
                uow.commit()
                return True
            uow.commit()  # judged; performed without holding the chain's lock, which webhooks wait on
            claimed = uow.outbox.claim_again(row.id)
            if claimed is None:  # another worker took it meanwhile
                return True
            row = claimed
        merged = (
            uow.outbox.following_updates(row, self.clock(), MERGE_LIMIT)
            if isinstance(action, UpdateFields | ShowMissing)
            else []
        )
        try:
            performer = tool.actions if tool is not None else self.connector.pipeline_actions(row.tool)
            if performer is None:
                raise LookupError(f"no {row.tool} connection is configured")
            target, action = merged_action(row, merged)
            if isinstance(action, RecordEvidence) and target.key:  # the seal is made when it is written
                action = RecordEvidence(seal(uow.session, self.connector, row.tool, target.key))
            if tool is not None:  # the people its texts name, named as the tool names them now
                action = self._quickly(with_names, action, lambda user: tool.ctx.name_of(user))
            result = self._quickly(performer.perform, action, target, row.idempotency_key)
        except Exception as error:  # noqa: BLE001 - every failure is classified and recorded
            self._failed(uow, row, error, report)
        else:
            at = self.clock()
            for done in (row, *merged):
                done.status, done.done_at, done.result, done.last_error = "done", at, result, None
            report.done += 1 + len(merged)
            self._follow_up(uow, tool, row, target, action, result)
        uow.commit()
        return True

    def _catch_up(
        self, row_id: int, action: Action, tool: str, key: str | None
    ) -> tuple[int | None, CaughtUp]:
        """Before a revert or a catch-up row: (its id, the catch-up's report or the error that stopped
        it). The change's facts are read from the tool and replayed, each event in a transaction of its
        own; the row is then claimed again (a revert is judged again, `services.reverts`)."""
        try:
            return row_id, self._quickly(reconcile.catch_up, self.connector, tool, key)
        except Exception as error:  # noqa: BLE001 - classified: retried, recorded, or judged on what is known
            if _again(error) or isinstance(action, CatchUp):
                return row_id, error
            log.warning("revert-catch-up-failed", extra={"outbox_id": row_id, "error": str(error)[:300]})
            return row_id, None  # judged again on what is known

    def _quickly(self, call: Callable[[*Ts], T], *args: *Ts) -> T:
        """`call` made again a few times while it fails transiently, each of its gateway calls retried on
        its own meanwhile (connector/retries.py)."""
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(retries.QUICK_ATTEMPTS),
            wait=QUICK_WAIT,
            retry=tenacity.retry_if_exception(retries.for_the_action),
            sleep=self.sleep,
            reraise=True,
        )
        with retries.each_call_retried(self.sleep):
            return retrying(call, *args)

    def _failed(self, uow: UnitOfWork, row: OutboxRow, error: BaseException, report: DispatchReport) -> None:
        row.attempts += 1
        row.last_error = f"{type(error).__name__}: {error}"[:2000]
        if _again(error) and row.attempts < self.max_attempts:
            row.next_attempt_at = self.clock() + timedelta(seconds=scheduled_delay(row.attempts, error))
            report.retried += 1
            log.warning(
                "outbox-retry-scheduled",
                extra={
                    "outbox_id": row.id,
                    "action": row.action,
                    "attempts": row.attempts,
                    "error": row.last_error,
                },
            )
            return
        row.status = "dead"
        report.dead += 1
        log.error(
            "outbox-action-dead", extra={"outbox_id": row.id, "action": row.action, "error": row.last_error}
        )
        uow.audit.append(
            actor="ecm-connector",
            action="outbox-dead",
            change_key=target(row.payload).key,
            tool=row.tool,
            data={"outbox_id": row.id, "action": row.action, "error": row.last_error},
            at=self.clock(),
        )

    def _follow_up(
        self, uow: UnitOfWork, tool: ToolRuntime, row: OutboxRow, target: Target, action: Action, result: dict
    ) -> None:
        if isinstance(action, CreatePostMortem) and target.key and result.get("postmortem"):
            command = c.RecordPostMortemCreated(
                tool=row.tool,
                key=target.key,
                actor=tool.ctx.connector_account,
                at=self.clock(),
                origin=f"outbox:{row.id}",
                postmortem_key=result["postmortem"],
            )
            uow.audit.lock()  # the same lock order as every other writer: chain, then change
            services.handle(uow, command, tool.ctx)
        if isinstance(action, OpenBypass) and result.get("change"):
            opened = c.RegisterBypass(
                tool=row.tool,
                key=str(result["change"]),
                actor=tool.ctx.connector_account,
                at=self.clock(),
                origin=f"outbox:{row.id}",
                deploy=action.deploy,
                remote_id=str(result.get("remote_id") or ""),
                title=action.summary,
                engineer=action.assignee or "",
                named=action.named,
                category=action.category,
            )
            uow.audit.lock()
            services.handle(uow, opened, tool.ctx)


def _again(error: BaseException) -> bool:
    """Worth another scheduled attempt: the tool's transient failure, or another transaction that won
    the race for the same rows (a catch-up's replay beside a webhook of the same change)."""
    return _retryable(error) or isinstance(error, CONFLICTS)


def _typed(row: OutboxRow) -> Action | None:
    """The row's typed action, or None when it cannot be read (it then fails when it is performed)."""
    try:
        return decode(row.action, row.payload)[1]
    except (LookupError, TypeError, ValueError):  # an unknown action, a payload missing what it needs
        return None


def merged_action(row: OutboxRow, merged: list[OutboxRow]) -> tuple[Target, Action]:
    """`row`'s action, with the merged rows laid over it in order: their fields (the last write wins), or
    the next step's text queued last."""
    target, action = decode(row.action, row.payload)
    for later in merged:
        _, update = decode(later.action, later.payload)
        if isinstance(action, UpdateFields) and isinstance(update, UpdateFields):
            action = action.then(update)
        elif isinstance(action, ShowMissing) and isinstance(update, ShowMissing):
            action = update
    return target, action
