"""Use cases. `handle(uow, command, ctx)` runs one command inside a unit of work: the state change,
its audit entry and its outbox rows are committed together by the caller. It lives beside what feeds
it, receiving a delivery (record it, drop duplicates, translate it into commands, `handle` each,
commit): `connector/services/deliveries.py`, whose `HANDLERS` name the use case of each command type.

Every procedure decision is asked of `connector.procedure.rules`; the use cases only record facts,
turn decisions into outbox actions (revert, comment, notify, create post-mortem, update fields)
and write the audit trail.
"""

from connector.services.deliveries import HANDLERS, handle

__all__ = ["HANDLERS", "handle"]
