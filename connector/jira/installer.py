"""`ecm plan` / `ecm install` for Jira: compare what a mapping needs with what Jira has, then create it.

Each step looks at Jira and yields `(PlanItem, apply)`; `plan` keeps the items, `install` runs the
`apply` of every create/update in order (each one reads Jira afresh, so ids made by earlier steps are
found) and reports progress. Nothing is ever deleted. On Data Center, REST creates fields, issue types,
the link type and the webhook; statuses, the workflow and its scheme are "manual": `install` writes the
workflow as Jira workflow XML (Administration → Workflows → Import → Import from XML) and the steps.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from connector.config import Settings
from connector.errors import Rejected
from connector.install_plan import SECRET_PLACEHOLDER, Plan, PlanItem
from connector.jira.gateway import JiraGateway
from connector.jira.project_setup import ProjectSetup
from connector.jira.workflow import (
    ALL_STAGES,
    CATEGORY,
    RuleIds,
    missing_rules,
    update_payload,
    workflow_name,
    workflow_payload,
)
from connector.jira.workflow_xml import CATEGORY_NAMES, write_datacenter_files
from connector.mapping import FieldType, IssueKind, Mapping
from connector.procedure.model import Stage

Apply = Callable[[], None]
Step = Iterator[tuple[PlanItem, Apply | None]]
CF = "com.atlassian.jira.plugin.system.customfieldtypes:"
FIELD_TYPES: dict[FieldType, tuple[str, str]] = {  # mapping type -> (custom field type, searcher)
    FieldType.SELECT: (f"{CF}select", f"{CF}multiselectsearcher"),
    FieldType.TEXT: (f"{CF}textfield", f"{CF}textsearcher"),
    FieldType.TEXTAREA: (f"{CF}textarea", f"{CF}textsearcher"),
    FieldType.URL: (f"{CF}url", f"{CF}exacttextsearcher"),
    FieldType.USER: (f"{CF}userpicker", f"{CF}userpickergroupsearcher"),
    FieldType.DATETIME: (f"{CF}datetime", f"{CF}datetimerange"),
}
TOKEN_PARAMETER = "token"  # noqa: S105 - the name of the URL parameter, not a token
TOKEN_VALUE = re.compile(r"(?<=[?&]token=)[^&#]*")
WEBHOOK_EVENTS = ("jira:issue_created", "jira:issue_updated", "comment_created", "issuelink_created")
GATE_SCREEN_FIELDS = ("gate", "engineer")  # the connector's own fields, on its gate transitions' screen
DESCRIPTIONS = {
    "change": "An emergency change under ENG-PROC-004.",
    "postmortem": "Post-mortem of an emergency change.",
}


def with_token(url: str, token: str) -> str:
    """`url` with `?token=<token>` (replacing any token it carries): how Jira Data Center's deliveries,
    which Jira 9 cannot sign, are authenticated by the connector (`ECM_JIRA_WEBHOOK_TOKEN`)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != TOKEN_PARAMETER]
    return urlunsplit(parts._replace(query=urlencode([*query, (TOKEN_PARAMETER, token)])))


def without_token(url: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != TOKEN_PARAMETER]
    return urlunsplit(parts._replace(query=urlencode(query)))


def shown_url(url: str) -> str:
    """A webhook URL fit for output and logs: the value of its token replaced by a placeholder."""
    return TOKEN_VALUE.sub(SECRET_PLACEHOLDER, url)


class JiraInstaller:
    def __init__(
        self,
        mapping: Mapping,
        gateway: JiraGateway,
        *,
        settings: Settings | None = None,
        out_dir: Path = Path("."),
        setup: ProjectSetup | None = None,
    ) -> None:
        self.m, self.jira, self.gw = mapping, mapping.jira, gateway
        self.cloud = gateway.flavor == "cloud"
        environ = dict(os.environ)
        if settings is not None and settings.public_url:
            environ["ECM_PUBLIC_URL"] = settings.public_url
        secret = settings.jira_webhook_secret if settings is not None else None
        self.webhook_secret = secret.get_secret_value() if secret is not None else None
        token = settings.jira_webhook_token if settings is not None else None
        self.webhook_token = token.get_secret_value() if token is not None else None
        self.webhook_url = mapping.jira.webhook.resolved_url(environ)
        if not self.cloud and self.webhook_token:  # Data Center: authenticated by the URL token
            self.webhook_url = with_token(self.webhook_url, self.webhook_token)
        self.out_dir = out_dir
        self.setup = setup or ProjectSetup(mapping, gateway)

    def steps(self) -> Step:
        yield from self.issue_types()
        if self.cloud:
            yield from self.setup.issue_type_scheme()
        yield from self.statuses()
        yield from self.fields()
        if self.cloud:
            yield from self.setup.screens()
            yield from self.gate_screen()
        yield from self.link_type()
        yield from self.workflow()
        yield from self.webhook()

    # --- helpers -----------------------------------------------------------------------------------

    def _issue_type_ids(self) -> dict[str, str]:
        return {t.name: t.id for t in self.gw.issue_types()}

    def _status_ids(self) -> dict[str, str]:
        return {s.name.casefold(): s.id for s in self.gw.statuses()}

    def _field_ids(self) -> dict[str, str]:
        found = {f.name: f.id for f in self.gw.fields() if f.extra.get("custom", True)}
        return {logical: found[f.name] for logical, f in self.jira.fields if f.name in found}

    # --- steps -------------------------------------------------------------------------------------

    def issue_types(self) -> Step:
        existing = self._issue_type_ids()
        for kind, name in self.jira.issue_types:
            if name in existing:
                yield PlanItem("issue type", name, "unchanged"), None
            else:
                yield (
                    PlanItem("issue type", name, "create"),
                    (lambda n=name, k=kind: self.gw.create_issue_type(n, DESCRIPTIONS.get(k, ""))),
                )

    def statuses(self) -> Step:
        existing = self._status_ids()
        for stage in ALL_STAGES:
            name = self.jira.statuses.status_of(stage)
            if name.casefold() in existing:
                yield PlanItem("status", name, "unchanged"), None
            elif self.cloud:
                yield (
                    PlanItem("status", name, "create"),
                    lambda n=name, s=stage: self.gw.create_statuses([(n, CATEGORY[s])]),
                )
            else:
                category = CATEGORY_NAMES[CATEGORY[stage]]
                detail = f"Administration > Issues > Statuses > Add status: {name!r}, category {category}"
                yield PlanItem("status", name, "manual", detail), None

    def fields(self) -> Step:
        ids = self._field_ids()
        for logical, spec in self.jira.fields:
            if logical in ids:
                yield PlanItem("field", spec.name, "unchanged"), None
            else:
                type_key, searcher = FIELD_TYPES[spec.type]
                yield (
                    PlanItem("field", spec.name, "create", spec.type.value),
                    (lambda n=spec.name, t=type_key, s=searcher: self.gw.create_field(n, t, s)),
                )
            yield from self.field_context(logical, spec, ids.get(logical))

    def field_context(self, logical: str, spec, field_id: str | None) -> Step:
        name = f"ECM {self.jira.project}"
        label = f"{spec.name} in {self.jira.project}"
        if not self.cloud:
            if spec.options:
                yield (
                    PlanItem(
                        "field options",
                        label,
                        "manual",
                        "Custom fields > Configure > Edit options: " + ", ".join(spec.options),
                    ),
                    None,
                )
            return
        contexts = self.gw.field_contexts(field_id) if field_id else ()
        context = next((c for c in contexts if c.name == name), None)
        if context is None:
            yield (
                PlanItem("field context", label, "create", ", ".join(spec.options)),
                (lambda: self._create_context(logical, spec, name)),
            )
            return
        yield PlanItem("field context", label, "unchanged"), None
        missing = [o for o in spec.options if o not in self.gw.context_options(field_id, context.id)]
        if missing:
            yield (
                PlanItem("field options", label, "update", "add " + ", ".join(missing)),
                (lambda: self.gw.add_context_options(field_id, context.id, missing)),
            )

    def _create_context(self, logical: str, spec, name: str) -> None:
        field_id = self._field_ids()[logical]
        types = self.jira.issue_types
        kind = types.change if spec.on is IssueKind.CHANGE else types.postmortem
        project_id = self.gw.project(self.jira.project).id
        type_id = self._issue_type_ids()[kind]
        context_id = self.gw.create_field_context(field_id, name, [project_id], [type_id])
        if spec.options:
            self.gw.add_context_options(field_id, context_id, list(spec.options))

    def _gate_screen_name(self) -> str:
        return f"ECM {self.jira.project} gate"

    def gate_screen(self) -> Step:
        """The screen of the connector's gate transitions, holding the connector's own fields (the gate,
        the engineer) and nothing else: a field a plain account may set only where a screen of the
        operation has it, and this is the only one."""
        name = self._gate_screen_name()
        labels = [getattr(self.jira.fields, logical).name for logical in GATE_SCREEN_FIELDS]
        screen = self.gw.screen_named(name)
        if screen is None:
            detail = f"with {' and '.join(labels)} only"
            yield PlanItem("screen", name, "create", detail), self._create_gate_screen
            return
        ids, tabs = self._field_ids(), self.gw.screen_tabs(screen.id)
        present = set(self.gw.tab_fields(screen.id, tabs[0].id)) if tabs else set()
        missing = [lg for lg in GATE_SCREEN_FIELDS if lg in ids and ids[lg] not in present]
        if tabs and missing:
            names = ", ".join(getattr(self.jira.fields, lg).name for lg in missing)
            yield (
                PlanItem("screen", name, "update", f"add {names}"),
                (lambda: [self.gw.add_field_to_tab(screen.id, tabs[0].id, ids[lg]) for lg in missing]),
            )
        else:
            yield PlanItem("screen", name, "unchanged"), None

    def _create_gate_screen(self) -> None:
        description = "The ECM Connector writes the steps ENG-PROC-004 allows here; on no other screen."
        screen_id = self.gw.create_screen(self._gate_screen_name(), description)
        tab = self.gw.screen_tabs(screen_id)[0]
        ids = self._field_ids()
        for logical in GATE_SCREEN_FIELDS:
            self.gw.add_field_to_tab(screen_id, tab.id, ids[logical])

    def link_type(self) -> Step:
        spec = self.jira.link_type
        found = next((t for t in self.gw.link_types() if t.name == spec.name), None)
        if found is None:
            yield (
                PlanItem("link type", spec.name, "create", f"{spec.outward} / {spec.inward}"),
                (lambda: self.gw.create_link_type(spec.name, spec.outward, spec.inward)),
            )
        elif (found.outward, found.inward) != (spec.outward, spec.inward):
            yield (
                PlanItem(
                    "link type",
                    spec.name,
                    "manual",
                    f"exists as {found.outward} / {found.inward}; rename it in Jira",
                ),
                None,
            )
        else:
            yield PlanItem("link type", spec.name, "unchanged"), None

    def workflow(self) -> Step:
        name = workflow_name(self.m)
        if not self.cloud:
            key = self.jira.project
            if self._dc_status_ids().keys() < set(ALL_STAGES):
                detail = (
                    f"add the missing statuses, then run `ecm install` again (ecm-{key}-install-steps.txt)"
                )
            else:
                detail = f"import ecm-{key}-workflow.xml, see ecm-{key}-install-steps.txt"
            yield PlanItem("workflow", name, "manual", detail), self._write_dc_files
            detail = f"create it and switch {self.jira.project} to it (steps file)"
            yield PlanItem("workflow scheme", f"{name} scheme", "manual", detail), None
            return
        installed = next(iter(self.gw.workflows(name)), None)
        if installed is None:
            yield PlanItem("workflow", name, "create"), self._create_workflow
        elif problems := missing_rules(self.m, installed):
            detail = "add: " + "; ".join(problems)
            yield PlanItem("workflow", name, "update", detail), self._update_workflow
        else:
            yield PlanItem("workflow", name, "unchanged"), None
        yield from self.scheme(name)

    def rule_ids(self) -> RuleIds:
        statuses = self._status_ids()
        groups = self.m.groups
        group_ids = {g: self.gw.group_id(g) for g in (groups.leads, groups.security, groups.automation)}
        if missing := [g for g, gid in group_ids.items() if gid is None]:
            raise Rejected(f"group {missing[0]} does not exist in Jira; create it first")
        return RuleIds(
            {s: statuses[self.jira.statuses.status_of(s).casefold()] for s in ALL_STAGES},
            self._field_ids(),
            (group_ids[groups.leads], group_ids[groups.security]),
            group_ids[groups.automation],
            screen.id if self.cloud and (screen := self.gw.screen_named(self._gate_screen_name())) else None,
        )

    def _create_workflow(self) -> None:
        payload = workflow_payload(self.m, self.rule_ids())
        if errors := self.gw.validate_workflows(payload):
            raise Rejected("Jira refused the workflow: " + "; ".join(errors))
        self.gw.create_workflows(payload)

    def _update_workflow(self) -> None:
        """Add the rules the installed workflow lacks, through `workflows/update` with the version read
        now (Jira refuses a stale one); its other transitions and rules are kept."""
        installed = next(iter(self.gw.workflows(workflow_name(self.m))))
        statuses = {s.id: s.extra for s in self.gw.statuses()}
        payload = update_payload(self.m, self.rule_ids(), installed, statuses)
        if errors := self.gw.validate_workflow_update(payload):
            raise Rejected("Jira refused the workflow update: " + "; ".join(errors))
        self.gw.update_workflows(payload)

    def scheme(self, workflow: str) -> Step:
        scheme_name = f"{workflow} scheme"
        scheme = next((s for s in self.gw.workflow_schemes() if s.name == scheme_name), None)
        yield (
            PlanItem("workflow scheme", scheme_name, "unchanged" if scheme else "create"),
            None if scheme else lambda: self._create_scheme(scheme_name, workflow),
        )
        project_id = self.gw.project(self.jira.project).id
        current = self.gw.project_workflow_scheme(project_id)
        if current is not None and current.name == scheme_name:
            yield PlanItem("project workflow scheme", self.jira.project, "unchanged", scheme_name), None
            return
        detail = f"use {scheme_name}"
        if self.setup.has_issues():
            change, identified = self.jira.issue_types.change, self.jira.statuses.identified
            detail = f"switch to {scheme_name}; existing {change} issues move to {identified}"
        yield (
            PlanItem("project workflow scheme", self.jira.project, "update", detail),
            (lambda: self._assign_scheme(scheme_name, project_id)),
        )

    def _create_scheme(self, name: str, workflow: str) -> None:
        current = self.gw.project_workflow_scheme(self.gw.project(self.jira.project).id)
        default = (current.extra.get("defaultWorkflow") if current else None) or "jira"
        mappings = dict(current.extra.get("issueTypeMappings") or {}) if current else {}
        mappings[self._issue_type_ids()[self.jira.issue_types.change]] = workflow
        description = "ENG-PROC-004, installed by the ECM Connector."
        self.gw.create_workflow_scheme(name, description, default, mappings)

    def _assign_scheme(self, name: str, project_id: str) -> None:
        """A project without issues gets the scheme at once; one with issues is switched by a Jira task,
        moving change issues from statuses the new workflow lacks to Identified."""
        scheme = next(s for s in self.gw.workflow_schemes() if s.name == name)
        if not self.setup.has_issues():
            self.gw.assign_workflow_scheme(project_id, scheme.id)
            return
        type_id = self._issue_type_ids()[self.jira.issue_types.change]
        statuses = self._status_ids()
        kept = {statuses[self.jira.statuses.status_of(s).casefold()] for s in ALL_STAGES}
        identified = statuses[self.jira.statuses.identified.casefold()]
        old = self.gw.project_statuses(self.jira.project).get(type_id, ())
        mappings = {type_id: {s: identified for s in old if s not in kept}}
        self.setup.switch_scheme(project_id, scheme.id, name, mappings)

    def webhook_auth_problem(self) -> str | None:
        """Why Jira's deliveries could not be authenticated (Data Center without a URL token), if so."""
        if self.cloud or self.webhook_token:
            return None
        if self.webhook_secret and self.gw.signs_webhooks():  # Data Center 10 signs with a secret
            return None
        return (
            "ECM_JIRA_WEBHOOK_TOKEN is not set: Jira Data Center 9 does not sign webhooks, so the connector"
            " accepts them only with ?token=<ECM_JIRA_WEBHOOK_TOKEN> in the URL; set it (the same value"
            " for `ecm serve`) and run `ecm install --mapping <file>` again"
        )

    def webhook(self) -> Step:
        spec = self.jira.webhook
        if problem := self.webhook_auth_problem():
            yield PlanItem("webhook", spec.name, "manual", problem), None
            return
        jql = f"project = {self.jira.project}"
        url, shown = self.webhook_url, shown_url(self.webhook_url)
        found = next((w for w in self.gw.webhooks() if w.name == spec.name), None)
        args = (spec.name, url, list(WEBHOOK_EVENTS), self.webhook_secret, jql)
        if found is None:
            yield PlanItem("webhook", spec.name, "create", shown), (lambda: self.gw.register_webhook(*args))
            return
        wanted = (url, set(WEBHOOK_EVENTS), jql, True)
        if (found.url, set(found.events), found.jql, found.enabled) == wanted:
            yield PlanItem("webhook", spec.name, "unchanged", shown), None
        else:
            yield (
                PlanItem("webhook", spec.name, "update", f"url {shown}, {jql}, enabled"),
                (lambda: self.gw.update_webhook(found.id, *args)),
            )

    def _dc_status_ids(self) -> dict[Stage, str]:
        """Stage -> id of its status in Jira (`GET /rest/api/2/status`), where that status exists."""
        ids = self._status_ids()
        names = {s: self.jira.statuses.status_of(s).casefold() for s in ALL_STAGES}
        return {s: ids[name] for s, name in names.items() if name in ids}

    def _write_dc_files(self) -> None:
        write_datacenter_files(self.m, self.out_dir, self._dc_status_ids())


def plan(mapping: Mapping, gateway: JiraGateway, **options) -> Plan:
    """What `install` would do, without changing anything."""
    steps = JiraInstaller(mapping, gateway, **options).steps()
    return Plan(mapping.target.value, tuple(item for item, _ in steps))


def install(
    mapping: Mapping,
    gateway: JiraGateway,
    *,
    progress: Callable[[PlanItem], None] = lambda _: None,
    **options,
) -> Plan:
    """Create what is missing, in order; `progress` hears each item once done. Manual items get their
    files written (Data Center). Returns what was done."""
    done: list[PlanItem] = []
    for item, apply in JiraInstaller(mapping, gateway, **options).steps():
        if apply is not None:
            apply()
        done.append(item)
        progress(item)
    return Plan(mapping.target.value, tuple(done))
