"""R10 in the demo: a second change is deployed and its post-mortem left open, and the demo clock (the
one clock the sandbox and the connector share) is moved through each reminder point of the mapping, the
deadline and the end of the next business day. At each point the SLA job runs once at the demo clock's
now, as the jobs process would, and the notification must arrive in the tool — once, at that time by the
tool's own clock, to the people the mapping names.

The story supplies what is tool-specific: `deploy_and_leave_open()` plays the change up to its
post-mortem and returns its key; `alerts_in_tool(key)` reads the notifications the tool sent about it
(a Jira `POST issue/{key}/notify` as the sandbox records it, a ServiceNow e-mail sent for an event).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from connector.services.sla import run_sla
from connector.store.demo import pending_actions
from connector.store.uow import UnitOfWork

if TYPE_CHECKING:
    from connector.demo.story import Story
    from connector.mapping.common import Reminders
    from connector.procedure.calendar import BusinessCalendar


@dataclass(frozen=True)
class ToolAlert:
    """A notification as the tool shows it."""

    kind: str  # reminder | breach | escalation
    subject: str
    to: tuple[str, ...]
    sent_at: datetime


@dataclass(frozen=True)
class Point:
    """A moment the SLA alerts of a deadline change."""

    kind: str
    at: datetime
    label: str


def points(due: datetime, calendar: BusinessCalendar, reminders: Reminders) -> list[Point]:
    """Each reminder point of the mapping, the deadline, and the end of the next business day (the
    first escalation), in time order."""
    found = []
    for point in reminders.before:
        days, hours = point.business_days or 0, point.hours or 0
        label = f"{days} business day{'s' * (days != 1)}" if days else f"{hours:g} hour{'s' * (hours != 1)}"
        found.append(Point("reminder", calendar.shift(due, days, hours), f"{label} before the deadline"))
    found.append(Point("breach", due, "the deadline"))
    if reminders.escalate_every_business_day:
        found.append(
            Point("escalation", calendar.shift(due, business_days=-1), "the end of the next business day")
        )
    return sorted(found, key=lambda p: p.at)


class OverdueChapter:
    def __init__(self, story: Story, wait: float = 15.0) -> None:
        """`wait`: how long a notification may take to arrive (retries included) before it counts as lost."""
        self.story, self.stack, self.wait = story, story.stack, wait
        self.tool = self.stack.connector.tools[story.tool]
        self.tz = story.ctx.calendar.tz

    def when(self, moment: datetime) -> str:
        return f"{moment.astimezone(self.tz):%a %d %b %Y %H:%M:%S %Z}"

    def play(self) -> None:
        story = self.story
        story.say("R10 — a second change whose post-mortem is left open; the demo clock moves on")
        key = story.deploy_and_leave_open()
        story.result.overdue_key = key
        facts = story.stored(key)
        if facts is None or facts.postmortem is None:
            story.expect(f"{key} has a post-mortem with a deadline (R7)", False, "no post-mortem")
            return
        due = facts.postmortem.due_at
        story.say(f"  {facts.postmortem.key} is left open, due {self.when(due)}")
        for point in points(due, self.tool.ctx.calendar, self.tool.mapping.reminders):
            self.alert_at(key, point)
        story.result.overdue_timeline = story.timeline_of(key)

    def alert_at(self, key: str, point: Point) -> None:
        story = self.story
        before = self.seen(key, point.kind)
        now = self.stack.clock.advance_to(point.at)
        story.say(f"  demo clock → {self.when(now)} ({point.label}); the SLA job runs")
        run_sla(self.stack.connector, now)
        arrived = self.stack.settle(
            lambda: len(self.seen(key, point.kind)) > len(before) and not self.pending(key), timeout=self.wait
        )
        new = self.seen(key, point.kind)[len(before) :]
        for alert in new:
            to = ", ".join(alert.to)
            story.say(f"  {story.tool_name:10} notifies {to} at {self.when(alert.sent_at)}: {alert.subject}")
        again = run_sla(self.stack.connector, self.stack.clock())  # the job's next pass sends nothing again
        on_time = bool(new) and all(point.at <= a.sent_at <= self.stack.clock() for a in new)
        what = {"reminder": f"the reminder {point.label}", "breach": "the SLA breach alert at the deadline"}
        self.story.expect(
            f"{what.get(point.kind, 'the first escalation at the end of the next business day')} arrived in "
            f"{story.tool_name} once, sent at the demo clock's time (R10)",
            bool(arrived) and len(new) == 1 and on_time and again.total == 0,
            f"{len(new)} new, sent {[self.when(a.sent_at) for a in new]}, {again.total} sent again",
        )

    def pending(self, key: str) -> int:
        """The change's outbox actions not yet performed (the comment that follows an alert, say)."""
        with UnitOfWork(self.stack.connector.database) as uow:
            return pending_actions(uow.session, key)

    def seen(self, key: str, kind: str) -> list[ToolAlert]:
        return [a for a in self.story.alerts_in_tool(key) if a.kind == kind]
