"""Sign a checkpoint of the audit chain when one is due (see connector.store.checkpoints).

The first run (at the scheduler's start) loads the signing key, creating it in the data directory when
ECM_AUDIT_SIGNING_KEY_FILE is unset and no key exists yet.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from connector.store.checkpoints import Checkpointer, checkpointer_from_settings

if TYPE_CHECKING:
    from connector.bootstrap import Connector

_checkpointers: WeakKeyDictionary[Connector, Checkpointer] = WeakKeyDictionary()


def checkpointer(connector: Connector) -> Checkpointer:
    if connector not in _checkpointers:
        _checkpointers[connector] = checkpointer_from_settings(
            connector.settings, connector.database, connector.clock
        )
    return _checkpointers[connector]


def run(connector: Connector) -> str:
    return checkpointer(connector).run()
