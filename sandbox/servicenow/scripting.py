"""Server-side JavaScript for the sandbox: the scripts the installer writes (business rules, scheduled
jobs) run under Node (`glide/host.js`) with stand-ins for the Glide API, in one long-lived process.

A script's calls into the instance (GlideRecord queries and writes, properties, events, HTTP) come back
to Python while the script waits; a write a script makes may run further business rules in the same
process (nested). A syntax error, a call to an API the stand-ins do not have (none but real Glide APIs
are stood in) or an uncaught exception is a `ScriptFailed`: the sandbox fails the write, stricter than an
instance (which logs it), so a broken script cannot pass a test.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

Handler = Callable[[str, list[Any]], Any]
_local = threading.local()


class ScriptFailed(RuntimeError):
    """A script did not run to its end: the message names the script and the JavaScript error."""


@dataclass(frozen=True)
class Current:
    """The record a business rule runs for (`current`) and its values before the write (`previous`)."""

    table: str
    fields: dict[str, str]
    operation: str | None = None  # insert | update; None for a scheduled job
    previous: dict[str, str] | None = None
    journal_changed: tuple[str, ...] = ()

    def message(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "fields": self.fields,
            "operation": self.operation,
            "previous": self.previous,
            "journal_changed": dict.fromkeys(self.journal_changed, True),
        }


@dataclass(frozen=True)
class Outcome:
    value: Any = None
    abort: bool = False
    changes: dict[str, str] = field(default_factory=dict)  # what a before rule set on `current`
    errors: tuple[str, ...] = ()  # gs.addErrorMessage
    log: tuple[tuple[str, str], ...] = ()  # gs.info / warn / error


def node() -> str:
    found = shutil.which("node")
    if found is None:
        raise RuntimeError(
            "the ServiceNow sandbox runs the installed scripts with Node.js: "
            "install it (apt-get install nodejs)"
        )
    return found


class ScriptHost:
    """One Node process. Thread-safe: one script (with its nested ones) runs at a time."""

    def __init__(self, handler: Handler, *, name: str = "foreground") -> None:
        self.handler, self.name = handler, name
        self._lock = threading.RLock()
        self._process: subprocess.Popen[str] | None = None
        self._ids = 0

    def _start(self) -> subprocess.Popen[str]:
        if self._process is None or self._process.poll() is not None:
            host = resources.files("sandbox.servicenow").joinpath("glide", "host.js")
            self._process = subprocess.Popen(
                [node(), str(host)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                encoding="utf-8",
                bufsize=1,
            )
        return self._process

    def run(self, source: str, name: str, *, current: Current | None, user: dict[str, str]) -> Outcome:
        with self._lock:
            process = self._start()
            self._ids += 1
            run_id = self._ids
            outer, _local.host = getattr(_local, "host", None), self
            try:
                self._send(
                    process,
                    {
                        "op": "run",
                        "id": run_id,
                        "source": source,
                        "name": name,
                        "current": current.message() if current else None,
                        "user": user.get("user_name", "system"),
                        "user_sys_id": user.get("sys_id", ""),
                    },
                )
                return self._until_done(process, run_id, name)
            finally:
                _local.host = outer

    def _until_done(self, process: subprocess.Popen[str], run_id: int, name: str) -> Outcome:
        assert process.stdout is not None
        while True:
            line = process.stdout.readline()
            if not line:
                self._process = None
                raise ScriptFailed(f"{name}: the script host stopped")
            message = json.loads(line)
            if message["op"] == "call":
                try:
                    reply: dict[str, Any] = {"value": self.handler(message["fn"], message["args"])}
                except Exception as error:  # the script sees it as a thrown Error
                    reply = {"error": f"{type(error).__name__}: {error}"}
                self._send(process, {"op": "reply", **reply})
                continue
            if message["op"] == "done" and message["id"] == run_id:
                if message["error"]:
                    raise ScriptFailed(f"{name}: {message['error']}")
                return Outcome(
                    value=message.get("value"),
                    abort=bool(message["abort"]),
                    changes=dict(message.get("changes") or {}),
                    errors=tuple(message.get("errors") or ()),
                    log=tuple(tuple(entry) for entry in message.get("log") or ()),  # type: ignore[misc]
                )

    @staticmethod
    def _send(process: subprocess.Popen[str], message: dict[str, Any]) -> None:
        assert process.stdin is not None
        process.stdin.write(json.dumps(message) + "\n")
        process.stdin.flush()

    def close(self) -> None:
        with self._lock:
            if self._process is not None and self._process.poll() is None:
                self._process.terminate()
                self._process.wait(timeout=5)
            self._process = None


def active_host() -> ScriptHost | None:
    """The host whose script this thread is inside (a nested script runs there too)."""
    return getattr(_local, "host", None)
