"""The retry policy of the connector's calls to its tools, in one place, applied by the outbox dispatcher.

Three layers of one policy (tenacity), from the shortest:
- each call: inside `each_call_retried()` (the dispatcher opens it around an action and a catch-up), a
  gateway call that failed transiently is made again on its own, quickly, when that cannot do anything
  twice: a read or an idempotent write after any transient failure, any call after a 429, which Jira
  did not perform. So an action of five calls does not fail as a whole when one of them is answered
  429 or 502; the action's own look before writing covers what is left (a POST answered 5xx).
- each action: the dispatcher performs the action again a few times for what one call could not retry
  on its own (`for_the_action`).
- scheduled: the row is tried again later, with exponential backoff and jitter (`SCHEDULED_WAIT`),
  so a long outage never holds other changes.

Jira Cloud's rate-limit guidance: "Retry-After indicates how many seconds the app must wait before
reissuing the request"; "some transient 5XX errors are accompanied by a Retry-After header ... they can
be handled with similar logic"; back off exponentially with jitter so that clients do not retry in step
(https://developer.atlassian.com/cloud/jira/platform/rate-limiting/ and
https://developer.atlassian.com/cloud/jira/platform/build-an-app-that-respects-rate-limits/). Every
wait here is the longer of the backoff and Retry-After; a Retry-After longer than QUICK_WAIT_CAP is
never slept in a worker but scheduled.

Outside `each_call_retried()` (a webhook request, `ecm doctor`, the directory's thread) a gateway
call is made once: nothing sleeps inside a webhook request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar, TypeVarTuple

import tenacity

from connector.errors import ApiError, RateLimited

T = TypeVar("T")
Ts = TypeVarTuple("Ts")  # the arguments of a call made again

QUICK_ATTEMPTS = 3  # per call and per action
QUICK_WAIT_CAP = 2.0  # seconds: longer waits are scheduled, not slept
# A write whose answer did not come in time may still be done by the tool (an issue or a change created,
# a transition made): it is retried no sooner than this, so that the retry's look before writing sees
# what was done. The gateways give it as the error's Retry-After, so it is scheduled, never slept.
LOST_ANSWER_WAIT = 30.0


class wait_retry_after(tenacity.wait.wait_base):
    """Exponential backoff with jitter, but never shorter than the tool's Retry-After."""

    def __init__(self, initial: float, maximum: float, exp_base: float = 2.0) -> None:
        self.backoff = tenacity.wait_exponential_jitter(
            multiplier=initial, max=maximum, exp_base=exp_base, jitter=initial
        )

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        delay = self.backoff(retry_state)
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None and outcome.failed else None
        retry_after = getattr(error, "retry_after", None) or 0.0
        return max(delay, retry_after)


QUICK_WAIT = wait_retry_after(initial=0.2, maximum=QUICK_WAIT_CAP)
# Scheduled: 1 s, 2 s, 4 s … (plus up to 1 s of jitter), at most 30 min apart. A transient 429 or 5xx
# is retried within seconds, so a change's later actions, which wait in order behind it, are not held
# for minutes; a long outage still gets hours of attempts (SCHEDULED_ATTEMPTS) before a row is dead.
SCHEDULED_WAIT = wait_retry_after(initial=1.0, maximum=1800.0)
SCHEDULED_ATTEMPTS = 14  # 1 + 2 + … + 1024 s + 2 × 30 min: about 1.6 hours of a tool answering nothing


def retryable(error: BaseException) -> bool:
    return isinstance(error, ApiError) and error.retryable


def short(error: BaseException) -> bool:
    """A failure worth waiting out in the worker: no Retry-After, or one of at most QUICK_WAIT_CAP."""
    return (getattr(error, "retry_after", 0) or 0) <= QUICK_WAIT_CAP


def quickly(call: Callable[[*Ts], T], *args: *Ts, sleep: Callable[[float], None], only=retryable) -> T:
    """`call(*args)`, made again up to QUICK_ATTEMPTS times while it fails with a short transient error
    that `only` accepts."""
    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(QUICK_ATTEMPTS),
        wait=QUICK_WAIT,
        retry=tenacity.retry_if_exception(lambda e: only(e) and short(e)),
        sleep=sleep,
        reraise=True,
    )
    return retrying(call, *args)


_each_call: ContextVar[Callable[[float], None] | None] = ContextVar("ecm_each_call_retried", default=None)


@contextmanager
def each_call_retried(sleep: Callable[[float], None] = tenacity.nap.sleep) -> Iterator[None]:
    """Within this block (of this thread), `one_call` retries each gateway call on its own."""
    token = _each_call.set(sleep)
    try:
        yield
    finally:
        _each_call.reset(token)


def one_call(call: Callable[[], T], *, repeatable: bool) -> T:
    """One remote call: made once, or inside `each_call_retried()` made again quickly when it failed
    transiently and may be made again — `repeatable` (a read, an idempotent write) after any transient
    failure, any call after a 429 (the request was refused, not performed). An error this layer has
    retried is marked so (`retried_alone`): the action is then not made again as a whole for it, so the
    quick attempts do not multiply (a worker on SQLite holds the one write lock meanwhile)."""
    sleep = _each_call.get()
    if sleep is None:
        return call()

    def alone(error: BaseException) -> bool:
        return retryable(error) and (repeatable or isinstance(error, RateLimited))

    try:
        return quickly(call, sleep=sleep, only=alone)
    except ApiError as error:
        if alone(error):
            error.retried_alone = True
        raise


def for_the_action(error: BaseException) -> bool:
    """A short transient failure the whole action is made again for: one its calls did not retry alone
    (a POST answered 5xx, after which the action looks before it writes)."""
    return retryable(error) and short(error) and not getattr(error, "retried_alone", False)
