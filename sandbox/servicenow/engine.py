"""The instance: checks writes, runs the business rules (JavaScript from `sys_script`), stores, runs the
instance's own after effects, and the asynchronous rules in the background.

The write pipeline, as on an instance: ACL → the platform's checks (state model, data policy, approver
ACL: `rules.py`) → before rules by order (may change `current` or abort) → store → journal entries →
the instance's own effects (approvals, roll-up, SLAs, event e-mails: `effects.py`) → after rules by
order → async rules queued for the background worker. Writes a script makes through GlideRecord run
the same pipeline without the ACL check (server-side GlideRecord is not ACL-checked).
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

from sandbox.servicenow import effects
from sandbox.servicenow.business_rules import filter_holds, rules_for
from sandbox.servicenow.journal import journal_entries
from sandbox.servicenow.notify import Notifier, Outbound
from sandbox.servicenow.query import parse_query
from sandbox.servicenow.rules import Refusal, Write, run_before_rules
from sandbox.servicenow.schema import JOURNAL_FIELDS, SYSTEM_FIELDS, TABLES, TableSpec
from sandbox.servicenow.scripting import Current, ScriptFailed, ScriptHost, active_host
from sandbox.servicenow.seed import seed
from sandbox.servicenow.store import Clock, Record, Store

_ACL_DETAIL = "ACL Exception {} Failed due to security constraints"
SYSTEM_USER = {"user_name": "system", "sys_id": "", "roles": "admin"}


def _text(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("value", "")
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


class Instance:
    """A ServiceNow instance in memory. Every public method is thread-safe."""

    def __init__(
        self,
        clock: Clock | None = None,
        notifier: Notifier | None = None,
        *,
        emergency_approvers: tuple[str, ...] = (),
    ) -> None:
        self.store = Store(clock)
        # The emergency change model's Authorize approvers: () is the model's default (by risk: low →
        # members of the assignment group, moderate and high → CAB member); group names are an admin's
        # "Other group" choice.
        self.emergency_approvers = emergency_approvers
        self.notifier = notifier or Notifier()
        self.scripts = ScriptHost(self._glide, name="foreground")
        self.background = ScriptHost(self._glide, name="background")
        self._actor = threading.local()
        self._jobs: queue.Queue[tuple[Record, Current, Record]] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._idle = threading.Condition()
        self._running = 0
        self.script_failures: list[str] = []  # failures of async rules and jobs (no request to fail)
        # gs.addErrorMessage / addInfoMessage: the session messages a form shows its user after a save;
        # the Table API never returns them (see _before_rules). (user_name, "error" | "info", text).
        self.session_messages: list[tuple[str, str, str]] = []
        self._scheduler: threading.Thread | None = None
        self._stopped = threading.Event()
        seed(self.store)

    # --- reading -------------------------------------------------------------------------------
    def spec(self, table: str) -> TableSpec:
        spec = TABLES.get(table)
        if spec is None or spec.custom and not self.store.find("sys_db_object", name=table):
            raise Refusal(400, f"Invalid table {table}", None)
        return spec

    def user(self, user_name: str) -> Record | None:
        found = self.store.find("sys_user", user_name=user_name)
        return found[0] if found else None

    def can_read(self, spec: TableSpec, actor: Record) -> bool:
        return not spec.read_role or _has_role(actor, spec.read_role)

    def read_field(self, table: str, record: Record, name: str) -> str | None:
        """A field, dot-walking references (`requested_by.user_name`); None when it does not exist."""
        head, _, rest = name.partition(".")
        if head not in record:
            spec = TABLES.get(table)
            return "" if spec is not None and spec.fields is None and not rest else None
        if not rest:
            return record[head]
        target = TABLES[table].references.get(head) if table in TABLES else None
        row = self.store.get(target, record[head]) if target and record[head] else None
        if target is None:
            return None
        return self.read_field(target, row, rest) if row is not None else ""

    def select(self, table: str, encoded: str) -> list[Record]:
        self.spec(table)
        with self.store.lock:
            rows = self.store.rows(table)
            return parse_query(encoded).apply(rows, lambda r, n: self.read_field(table, r, n))

    def property(self, name: str) -> str | None:
        found = self.store.find("sys_properties", name=name)
        return found[0].get("value", "") if found else None

    # --- writing -------------------------------------------------------------------------------
    def insert(
        self, table: str, payload: dict[str, Any], actor: Record, *, acl: bool = True, display: bool = False
    ) -> Record:
        spec = self._writable(table, actor, "Insert") if acl else self.spec(table)
        values, journal = self._clean(spec, payload, display)
        if acl:
            values = self._field_acls(table, values, actor)
        with self.store.lock:
            merged = {**spec.defaults, **values}
            run_before_rules(Write(table, "insert", {}, merged, actor))
            values |= self._before_rules(table, "insert", {}, merged, actor, tuple(journal))
            record = self.store.insert(spec, values, actor["user_name"])
            self._journal(table, record["sys_id"], journal, actor)
            effects.after(self, table, "insert", {}, record, actor)
            stored = self.store.get(table, record["sys_id"]) or record
            self._after_rules(table, "insert", {}, stored, actor, tuple(journal))
            return self.store.get(table, record["sys_id"]) or stored

    def update(
        self,
        table: str,
        sys_id: str,
        payload: dict[str, Any],
        actor: Record,
        *,
        acl: bool = True,
        display: bool = False,
    ) -> Record:
        spec = self._writable(table, actor, "Update") if acl else self.spec(table)
        values, journal = self._clean(spec, payload, display)
        if acl:
            values = self._field_acls(table, values, actor)
        with self.store.lock:
            before = self._existing(table, sys_id)
            values = {k: v for k, v in values.items() if before.get(k) != v or k not in before}
            write = Write(table, "update", before, {**before, **values}, actor)
            run_before_rules(write)
            if not values and not journal:
                return before
            values |= effects.adjust(write, self.store.now())
            values |= self._before_rules(table, "update", before, {**before, **values}, actor, tuple(journal))
            record = self.store.update(table, sys_id, values, actor["user_name"])
            self._journal(table, sys_id, journal, actor)
            effects.after(self, table, "update", before, record, actor)
            self._after_rules(table, "update", before, record, actor, tuple(journal))
            return self.store.get(table, sys_id) or record

    def delete(self, table: str, sys_id: str, actor: Record) -> None:
        self._writable(table, actor, "Delete")
        with self.store.lock:
            self._existing(table, sys_id)
            self.store.delete(table, sys_id)

    def write_insert(self, table: str, values: Record, actor: Record) -> Record:
        """A write the instance makes itself (an effect): the whole pipeline without the ACL check."""
        return self.insert(table, values, actor, acl=False)

    def write_update(self, table: str, sys_id: str, values: Record, actor: Record) -> Record:
        return self.update(table, sys_id, values, actor, acl=False)

    # --- business rules ------------------------------------------------------------------------
    def _rules(self, table: str, when: str, operation: str, before: Record, after: Record) -> list[Record]:
        chosen = []
        for rule in rules_for(self.store.rows("sys_script"), table, when, operation):
            resolve = lambda r, n: self.read_field(table, r, n)  # noqa: E731
            try:
                holds = filter_holds(rule.get("filter_condition", ""), before, after, resolve)
            except ValueError as error:
                raise Refusal(500, "Business rule error", f"{rule.get('name')}: {error}") from error
            if holds:
                chosen.append(rule)
        return chosen

    def _run(
        self, rule: Record, current: Current | None, actor: Record, host: ScriptHost | None = None
    ) -> Any:
        host = host or active_host() or self.scripts
        outer = getattr(self._actor, "value", None)
        self._actor.value = actor
        try:
            if rule.get("condition", "").strip():
                condition = f"return ({rule['condition']});"
                if not host.run(
                    condition, f"{rule.get('name')} (condition)", current=current, user=actor
                ).value:
                    return None
            return host.run(
                rule.get("script", ""), rule.get("name", "business rule"), current=current, user=actor
            )
        except ScriptFailed as error:
            kind = "business rule" if current is not None else "scheduled job"
            raise Refusal(500, "Script error", f"{kind} {error}") from error
        finally:
            self._actor.value = outer

    def _before_rules(
        self,
        table: str,
        operation: str,
        before: Record,
        after: Record,
        actor: Record,
        journal: tuple[str, ...],
    ) -> Record:
        changes: Record = {}
        for rule in self._rules(table, "before", operation, before, after):
            fields = {**after, **changes}
            outcome = self._run(rule, Current(table, fields, operation, before or None, journal), actor)
            if outcome is None:
                continue
            self.session_messages += [(actor["user_name"], "error", text) for text in outcome.errors]
            if outcome.abort:
                raise Refusal(403, "Operation Failed", _aborted(table, rule))
            changes |= {k: v for k, v in outcome.changes.items() if k not in SYSTEM_FIELDS}
        return changes

    def _after_rules(
        self,
        table: str,
        operation: str,
        before: Record,
        record: Record,
        actor: Record,
        journal: tuple[str, ...],
    ) -> None:
        for rule in self._rules(table, "after", operation, before, record):
            self._run(rule, Current(table, record, operation, before or None, journal), actor)
        for rule in self._rules(table, "async", operation, before, record):
            self._queue(rule, Current(table, record, operation, None, journal), actor)

    # --- the background worker: async rules --------------------------------------------------
    def _queue(self, rule: Record, current: Current, actor: Record) -> None:
        with self._idle:
            self._running += 1
            if self._worker is None:
                self._worker = threading.Thread(target=self._work, name="servicenow-async", daemon=True)
                self._worker.start()
        self._jobs.put((rule, current, actor))

    def _work(self) -> None:
        while True:
            rule, current, actor = self._jobs.get()
            try:
                self._run(rule, current, actor, self.background)
            except Refusal as error:
                self.script_failures.append(f"{rule.get('name')}: {error.detail}")
            finally:
                with self._idle:
                    self._running -= 1
                    self._idle.notify_all()

    # --- scheduled jobs (sysauto_script) -----------------------------------------------------
    def run_scheduled_jobs(self) -> int:
        """Run every active scheduled job once now, as the scheduler does when each one is due (the
        sandbox's timer calls this; tests may too). Returns how many ran."""
        jobs = [job for job in self.store.rows("sysauto_script") if job.get("active", "true") == "true"]
        for job in jobs:
            run_as = self.store.get("sys_user", job.get("run_as", "")) or SYSTEM_USER
            try:
                self._run(job, None, run_as, self.background)
            except Refusal as error:
                self.script_failures.append(f"{job.get('name')}: {error.detail}")
        return len(jobs)

    def start_scheduler(self, interval: float) -> None:
        """Run the scheduled jobs every `interval` seconds from a daemon thread (a sandbox stands in for
        the instance's scheduler; the job's own run period is what a real instance would use)."""
        if self._scheduler is not None:
            return

        def tick() -> None:
            while not self._stopped.wait(interval):
                self.run_scheduled_jobs()

        self._scheduler = threading.Thread(target=tick, name="servicenow-scheduler", daemon=True)
        self._scheduler.start()

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Async rules run and outbound requests sent."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._running:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return self.notifier.wait_idle(max(0.0, deadline - time.monotonic()))

    def close(self) -> None:
        self._stopped.set()
        if self._scheduler is not None:
            self._scheduler.join(timeout=15)
        self.notifier.stop()
        self.scripts.close()
        self.background.close()

    # --- what scripts call (GlideRecord, gs, RESTMessageV2) ----------------------------------
    def _glide(self, fn: str, args: list[Any]) -> Any:
        actor = getattr(self._actor, "value", None) or SYSTEM_USER
        if fn == "query":
            table, encoded, limit = args
            rows = self.select(table, encoded)
            return rows[: int(limit)] if limit else rows
        if fn == "get":
            table, name, value = args
            rows = [r for r in self.select(table, "") if r.get(name) == value]
            return rows[0] if rows else None
        if fn == "insert":
            return self.insert(args[0], dict(args[1]), actor, acl=False)["sys_id"]
        if fn == "update":
            self.update(args[0], args[1], dict(args[2]), actor, acl=False)
            return True
        if fn == "property":
            return self.property(args[0])
        if fn == "journal":
            table, sys_id, element, most_recent = args
            entries = journal_entries(self.store, table, sys_id, element)
            return "".join(entries if int(most_recent) < 0 else entries[: int(most_recent)])
        if fn == "eventQueue":
            name, table, instance, parm1, parm2, queue_name = args
            self.insert(
                "sysevent",
                {
                    "name": name,
                    "table": table,
                    "instance": instance,
                    "parm1": parm1,
                    "parm2": parm2,
                    "queue": queue_name,
                    "process_on": self.store.now(),
                    "state": "ready",
                },
                actor,
                acl=False,
            )
            return None
        if fn == "now":
            return self.store.now()
        if fn == "http":
            request, asynchronous = Outbound.from_script(args[0]), bool(args[1])
            return self.notifier.execute_async(request) if asynchronous else self.notifier.execute(request)
        raise ScriptFailed(f"no such call {fn!r}")

    # --- internals -----------------------------------------------------------------------------
    def _writable(self, table: str, actor: Record, action: str) -> TableSpec:
        spec = self.spec(table)
        if spec.write_role and not _has_role(actor, spec.write_role):
            raise Refusal(403, "Operation Failed", _ACL_DETAIL.format(action))
        return spec

    def _existing(self, table: str, sys_id: str) -> Record:
        record = self.store.get(table, sys_id)
        if record is None:
            raise Refusal(
                404, "No Record found", "Record doesn't exist or ACL restricts the record retrieval"
            )
        return record

    def _clean(
        self, spec: TableSpec, payload: dict[str, Any], display: bool = False
    ) -> tuple[Record, Record]:
        values = {
            name: self._resolve(spec, name, _text(value)) if display else _text(value)
            for name, value in payload.items()
            if spec.accepts(name) and name not in SYSTEM_FIELDS and self._column_exists(spec, name)
        }
        journal = {name: values.pop(name) for name in JOURNAL_FIELDS if values.get(name)}
        for name in JOURNAL_FIELDS:
            values.pop(name, None)
        return values, journal

    def custom_columns(self, table: str) -> list[str]:
        """The `u_` columns sys_dictionary adds to a base table (its declared fields are its own)."""
        spec = TABLES.get(table)
        if spec is None or spec.fields is None or spec.custom:
            return []
        return [row.get("element", "") for row in self.store.find("sys_dictionary", name=table)]

    def _column_exists(self, spec: TableSpec, name: str) -> bool:
        """A custom `u_` column of a base table exists once a sys_dictionary record defines it; until then
        the Table API ignores it, as it ignores every field a table does not have."""
        if not name.startswith("u_") or spec.fields is None or name in spec.fields:
            return True
        return bool(self.store.find("sys_dictionary", name=spec.name, element=name))

    def _field_acls(self, table: str, values: Record, actor: Record) -> Record:
        """Field-level write ACLs (`sys_security_acl`, name `<table>.<field>`, operation write): a field no
        active ACL grants to `actor` is left out of the write and the rest is saved, answered 200 as usual
        — the Table API does not refuse the request
        (https://www.servicenow.com/community/developer-forum/acl-allow-to-write-for-some-specific-fields-still-return-status/m-p/2700846:
        "the system still don't update that field's value but the status code still returns status code
        200"). An ACL grants when admin overrides it for an admin (`admin_overrides`, true unless set
        false), or its script sets `answer` true (an ACL without a script grants). Scripts run as the
        actor; conditions and required roles on the ACL are not modelled, so an ACL using them refuses.
        Only requests are checked: server-side GlideRecord writes are not ACL-checked."""
        acls = [
            acl
            for acl in self.store.rows("sys_security_acl")
            if acl.get("active", "true") == "true" and acl.get("operation") == "write"
        ]
        if not acls:
            return values
        kept = dict(values)
        for name in values:
            guarding = [acl for acl in acls if acl.get("name") == f"{table}.{name}"]
            if guarding and not any(self._acl_grants(acl, table, values, actor) for acl in guarding):
                del kept[name]
        return kept

    def _acl_grants(self, acl: Record, table: str, values: Record, actor: Record) -> bool:
        if acl.get("admin_overrides", "true") != "false" and _has_role(actor, "admin"):
            return True
        if acl.get("condition", "").strip() or acl.get("roles", "").strip():
            return False
        source = acl.get("script", "").strip()
        if acl.get("advanced", "false") != "true" or not source:
            return True
        wrapped = f"var answer = false;\n{source}\nreturn answer;"
        try:
            outcome = self.scripts.run(
                wrapped, f"ACL {acl.get('name')}", current=Current(table, dict(values)), user=actor
            )
        except ScriptFailed as error:
            raise Refusal(500, "Script error", f"ACL {error}") from error
        return outcome.value is True

    def _resolve(self, spec: TableSpec, name: str, value: str) -> str:
        """With `sysparm_input_display_value=true` a reference may be written as the referenced record's
        display value. Otherwise the Table API stores values as given, an unknown or wrong-table sys_id
        too: it then resolves to nothing ("The REST API inserts and updates values as given in
        requests", https://support.servicenow.com/kb?id=kb_article_view&sysparm_article=KB0534905)."""
        target = spec.references.get(name)
        if not target or not value or self.store.get(target, value) is not None:
            return value
        keys = (TABLES[target].display_field, "user_name", "name")
        for row in self.store.rows(target):
            if any(row.get(key) == value for key in keys):
                return row["sys_id"]
        return value

    def _journal(self, table: str, sys_id: str, journal: Record, actor: Record) -> None:
        """Journal text lands in sys_journal_field; business rules on sys_journal_field do not run for
        it (the platform writes the entry itself), so rules watch the journal field on the record."""
        for element, text in journal.items():
            self.store.insert(
                TABLES["sys_journal_field"],
                {"element": element, "element_id": sys_id, "name": table, "value": text},
                actor["user_name"],
            )


def _aborted(table: str, rule: Record) -> str:
    """What the Table API answers for a write a before rule aborted: 403, message "Operation Failed", the
    rule named with its sys_id, and never the rule's gs.addErrorMessage text (that goes to the session's
    messages, which only a form shows). Observed on instances, e.g.
    https://www.servicenow.com/community/developer-forum/how-to-display-business-rule-error-message-in-api-call/td-p/1764076
    ({"error": {"message": "Operation Failed", "detail": "Operation against file 'x' was aborted by Business
    Rule 'Email Address Syntax Validate^62bf…'. Business Rule Stack:Email Address Syntax Validate"},
    "status": "failure"}) and
    https://www.servicenow.com/community/developer-forum/how-to-show-error-message-on-table-api/m-p/1495388
    ("OOB there is no way to show error message on the table API"). A rule that wants its reason read
    by an API caller says it in its name."""
    name = rule.get("name", "")
    return (
        f"Operation against file '{table}' was aborted by Business Rule '{name}^{rule.get('sys_id', '')}'. "
        f"Business Rule Stack:{name}"
    )


def _has_role(actor: Record, role: str) -> bool:
    return role in actor.get("roles", "").split(",")
