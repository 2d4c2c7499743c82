"""Group membership is read from the tool, cached, and kept when the tool stops answering."""

from __future__ import annotations

import pytest

from connector.directory import CachedDirectory
from connector.errors import Unavailable


class Tool:
    def __init__(self):
        self.calls, self.down = 0, False
        self.groups = {"leads": [("u1", "Liam Lead", "liam@example.com")], "security": [("u2", "Sara", None)]}

    def members(self, group):
        self.calls += 1
        if self.down:
            raise Unavailable("HTTP 503")
        return self.groups[group]


def directory(tool, clock):
    return CachedDirectory(tool.members, "leads", "security", ttl=60, monotonic=lambda: clock[0])


def test_membership_is_read_once_per_ttl():
    tool, clock = Tool(), [0.0]
    people = directory(tool, clock)
    assert people.groups().leads == {"u1"}
    people.groups()
    assert tool.calls == 2  # two groups, one read each
    clock[0] = 61
    people.groups()
    assert tool.calls == 4


def test_stale_membership_is_kept_while_the_tool_is_down():
    tool, clock = Tool(), [0.0]
    people = directory(tool, clock)
    people.groups()
    tool.down, clock[0] = True, 61
    assert people.groups().security == {"u2"}


def test_nothing_known_and_tool_down_is_an_error_the_delivery_retries_on():
    tool = Tool()
    tool.down = True
    with pytest.raises(Unavailable):
        directory(tool, [0.0]).groups()


def test_people_are_found_by_name_email_or_its_local_part():
    people = directory(Tool(), [0.0])
    assert people.resolve("@liam") == "u1"
    assert people.resolve("Liam Lead") == "u1"
    assert people.resolve("@nobody") is None
    assert people.display("u1") == "Liam Lead"


def test_in_the_background_an_old_read_is_used_while_a_thread_reads_again():
    import threading

    tool, clock = Tool(), [0.0]
    release = threading.Event()
    people = CachedDirectory(
        tool.members, "leads", "security", ttl=60, monotonic=lambda: clock[0], background=True
    )
    assert people.groups().leads == {"u1"}  # the first read is the caller's
    members = tool.members
    tool.members = lambda group: (release.wait(5), members(group))[1]
    people._members_of = tool.members
    tool.groups["leads"] = [("u9", "New Lead", None)]
    clock[0] = 61

    assert people.groups().leads == {"u1"}  # answered at once, while the tool is slow
    release.set()
    people.wait_refreshed()
    assert people.groups().leads == {"u9"}


def test_a_name_the_tool_could_not_tell_is_asked_again_later():
    clock, answers = [0.0], [Unavailable("HTTP 429"), ("u7", "Emma Engineer", None)]

    def describe(user):
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    people = CachedDirectory(
        Tool().members, "leads", "security", describe=describe, monotonic=lambda: clock[0]
    )
    assert people.display("u7") == "u7"  # the tool said 429
    clock[0] = 10
    assert people.display("u7") == "Emma Engineer"


def test_in_the_background_a_name_not_known_is_asked_by_a_thread_and_a_reference_stands_in():
    import threading

    from connector.outbox import Comment, with_names

    release, callers = threading.Event(), []

    def describe(user):
        callers.append(threading.current_thread())
        release.wait(5)
        return (user, "Emma Engineer", "emma@example.com")

    people = CachedDirectory(Tool().members, "leads", "security", describe=describe, background=True)
    said = people.display("u7")  # answered at once, while the tool is slow
    assert "u7" in said and "Emma Engineer" not in said
    assert people.person("u7") == ("u7", "u7", None)
    release.set()
    people.wait_described()
    assert callers and threading.current_thread() not in callers
    assert people.display("u7") == "Emma Engineer"
    assert with_names(Comment(f"{said} raised EMG-1."), people.name_of) == Comment(
        "Emma Engineer raised EMG-1."
    )


def test_the_dispatcher_naming_a_person_waits_out_the_tool_and_names_an_unknown_person_by_the_identity():
    from connector.errors import NotFound, RateLimited

    answers = {"u7": [RateLimited("HTTP 429", retry_after=1), ("u7", "Emma Engineer", None)]}

    def describe(user):
        if user not in answers:
            raise NotFound("no such user")
        answer = answers[user].pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    people = CachedDirectory(Tool().members, "leads", "security", describe=describe, background=True)
    with pytest.raises(RateLimited):  # the action is retried later
        people.name_of("u7")
    assert people.name_of("u7") == "Emma Engineer"
    assert people.name_of("gone") == "gone"
