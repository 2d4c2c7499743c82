"""`ecm doctor` for Jira: can the connector reach Jira, is its account allowed, is the install intact?

Each check reads Jira and returns a `Check`; a failing check says how to fix it. A check that cannot
reach Jira fails with the connector's error message instead of stopping the others.
"""

from __future__ import annotations

from collections.abc import Callable

from connector.config import Settings
from connector.errors import ApiError
from connector.install_plan import Check
from connector.jira.gateway import JiraGateway
from connector.jira.installer import WEBHOOK_EVENTS, JiraInstaller, shown_url, without_token
from connector.jira.project_setup import ProjectSetup
from connector.jira.workflow import ALL_STAGES, missing_rules, workflow_name
from connector.mapping import Mapping
from connector.mapping.jira import IssueKind

GLOBAL_PERMISSIONS = {  # global permission -> how Jira's administration names it
    "ADMINISTER": "Administer Jira",  # install and the drift checks: fields, types, workflows, webhooks
    "USER_PICKER": "Browse users and groups",  # reading people and the approver groups' members
}
PERMISSIONS = (  # the global ones above; the others on the mapping's project (runtime)
    "ADMINISTER",
    "USER_PICKER",
    "ADMINISTER_PROJECTS",
    "BROWSE_PROJECTS",
    "CREATE_ISSUES",
    "EDIT_ISSUES",
    "TRANSITION_ISSUES",
    "ADD_COMMENTS",
    "LINK_ISSUES",
    "ASSIGN_ISSUES",
)
INSTALL = "run `ecm install --mapping <file>`"


def doctor(mapping: Mapping, gateway: JiraGateway, *, settings: Settings | None = None) -> list[Check]:
    checks = [
        _guard(
            "connectivity and account",
            lambda: _account(gateway),
            "check ECM_JIRA_URL, ECM_JIRA_USER and ECM_JIRA_TOKEN",
        )
    ]
    if not checks[0].ok:
        return checks
    checks.append(
        _guard(
            "permissions",
            lambda: _permissions(mapping, gateway),
            "grant the connector's account Jira administration and the project permissions",
        )
    )
    for role, group in (
        ("leads", mapping.groups.leads),
        ("security", mapping.groups.security),
        ("automation", mapping.groups.automation),
    ):
        checks.append(
            _guard(
                f"group {group}",
                lambda g=group: _group(gateway, g),
                f"create the group {group!r} in Jira and add its members ({role})",
            )
        )
    checks.append(_guard("webhook", lambda: _webhook(mapping, gateway, settings), INSTALL))
    checks.append(_guard("statuses", lambda: _statuses(mapping, gateway), INSTALL))
    if gateway.flavor != "cloud" and _reads_field_options(gateway):
        checks.append(_guard("field options", lambda: _field_options(mapping, gateway), INSTALL))
    if gateway.flavor == "cloud":
        setup = ProjectSetup(mapping, gateway)
        checks.append(_guard("issue type scheme", lambda: _issue_type_scheme(mapping, setup), INSTALL))
        checks.append(_guard("screens", lambda: _screens(mapping, setup), INSTALL))
        checks.append(_guard("workflow", lambda: _workflow(mapping, gateway), INSTALL))
    return checks


def _guard(name: str, run: Callable[[], tuple[bool, str, str]], fix: str) -> Check:
    try:
        ok, detail, specific_fix = run()
    except ApiError as e:
        return Check(name, False, str(e), fix, transient=e.retryable)
    return Check(name, ok, detail, "" if ok else specific_fix or fix)


def _account(gateway: JiraGateway) -> tuple[bool, str, str]:
    me = gateway.myself()
    return True, f"{gateway.url} as {me.display_name or me.id}", ""


def _permissions(mapping: Mapping, gateway: JiraGateway) -> tuple[bool, str, str]:
    project = mapping.jira.project
    held = gateway.my_permissions(PERMISSIONS, project)
    missing = [key for key in PERMISSIONS if not held.get(key)]
    if missing:
        in_project = [k for k in missing if k not in GLOBAL_PERMISSIONS]
        global_ = [GLOBAL_PERMISSIONS[k] for k in missing if k in GLOBAL_PERMISSIONS]
        fixes = []
        if in_project:
            fixes.append(
                f"in {project}'s permission scheme (Project settings > Permissions) grant the connector's "
                f"account {', '.join(in_project)}"
            )
        if global_:
            fixes.append(
                "give the connector's account the global permission"
                f"{'s' if len(global_) > 1 else ''} {' and '.join(global_)}"
                " (Settings > System > Global permissions)"
            )
        fix = "; ".join(fixes)
        return False, f"missing on {project}: " + ", ".join(missing), fix
    return True, ", ".join(PERMISSIONS), ""


def _statuses(mapping: Mapping, gateway: JiraGateway) -> tuple[bool, str, str]:
    known = {s.name.casefold() for s in gateway.all_statuses()}
    wanted = [mapping.jira.statuses.status_of(stage) for stage in ALL_STAGES]
    if missing := [name for name in wanted if name.casefold() not in known]:
        return False, "missing " + ", ".join(missing), ""
    return True, f"all {len(wanted)} mapped statuses exist", ""


def _reads_field_options(gateway: JiraGateway) -> bool:
    """Data Center 9.3 and later list a field's options over REST; before, the admin checks them by hand."""
    try:
        return gateway.reads_field_options()
    except ApiError:
        return False  # Jira did not say its version; the checks that reached it say why


def _field_options(mapping: Mapping, gateway: JiraGateway) -> tuple[bool, str, str]:
    """Data Center (9.3 on): each select field offers the mapped options in the project, the bypass
    category among them; its admin adds them in Edit options (ADMIN-JIRA-DATACENTER.md, step 6.4)."""
    jira = mapping.jira
    ids = {f.name: f.id for f in gateway.fields()}
    types = {t.name: t.id for t in gateway.issue_types()}
    project_id = gateway.project(jira.project).id
    bypass = mapping.deploys.bypass.category if mapping.deploys and mapping.deploys.bypass else None
    problems, fixes = [], []
    for _, spec in jira.fields:
        if not spec.options:
            continue
        kind = jira.issue_types.change if spec.on is IssueKind.CHANGE else jira.issue_types.postmortem
        if spec.name not in ids or kind not in types:
            return False, f"{spec.name!r} or the issue type {kind!r} does not exist yet", ""
        offered = set(gateway.field_options(ids[spec.name], project_id, types[kind]))
        if missing := [o for o in spec.options if o not in offered]:
            why = " (deploys.bypass.category: bypass changes are opened with it)" if bypass in missing else ""
            problems.append(f"{spec.name!r} in {jira.project} lacks the option(s) {', '.join(missing)}{why}")
            fixes.append(f"Custom field {spec.name!r} > Configure > Edit options: add {', '.join(missing)}")
    if problems:
        return False, "; ".join(problems), "; ".join(fixes) + " (Jira refuses any other value)"
    return True, "every mapped select field offers its options", ""


def _issue_type_scheme(mapping: Mapping, setup: ProjectSetup) -> tuple[bool, str, str]:
    scheme, missing = setup.missing_issue_types()
    if missing:
        names = " and ".join(missing)
        fix = (
            f"add {names} to the issue type scheme {scheme!r} (Administration > Issues > Issue type "
            f"schemes > Edit), or {INSTALL}"
        )
        return False, f"{mapping.jira.project} cannot create {names}: not in {scheme!r}", fix
    return True, f"{scheme} offers the mapped issue types", ""


def _screens(mapping: Mapping, setup: ProjectSetup) -> tuple[bool, str, str]:
    gaps = setup.screen_gaps()
    if gaps:
        detail = "; ".join(f"{', '.join(g.names)} not on screen {g.screen_name!r}" for g in gaps)
        fix = "; ".join(
            f"add {', '.join(g.names)} to screen {g.screen_name!r} (Administration > Issues > Screens > "
            "Configure)"
            for g in gaps
        )
        return False, detail, f"{fix}; or {INSTALL}"
    return True, f"every mapped field is on the create, edit and view screens of {mapping.jira.project}", ""


def _group(gateway: JiraGateway, group: str) -> tuple[bool, str, str]:
    members = gateway.group_members(group)
    if not members:
        return False, "the group has no members", f"add the people of {group!r} to it in Jira"
    return True, f"{len(members)} member(s)", ""


def _webhook(mapping: Mapping, gateway: JiraGateway, settings: Settings | None) -> tuple[bool, str, str]:
    installer = JiraInstaller(mapping, gateway, settings=settings)
    if problem := installer.webhook_auth_problem():
        return False, problem, "set ECM_JIRA_WEBHOOK_TOKEN, then run `ecm install --mapping <file>`"
    wanted_url = installer.webhook_url
    spec = mapping.jira.webhook
    found = next((w for w in gateway.webhooks() if w.name == spec.name), None)
    if found is None:
        return False, f"no webhook named {spec.name!r}", ""
    problems = []
    if not found.enabled:
        problems.append("disabled")
    if found.url != wanted_url and without_token(found.url) == without_token(wanted_url):
        token = (
            "without the connector's token" if found.url == without_token(found.url) else "with another token"
        )
        problems.append(f"points at {shown_url(found.url)} {token}, so the connector refuses every delivery")
    elif found.url != wanted_url:
        problems.append(f"points at {shown_url(found.url)}, not {shown_url(wanted_url)}")
    if missing := sorted(set(WEBHOOK_EVENTS) - set(found.events)):
        problems.append("misses events " + ", ".join(missing))
    if problems:
        fix = f"{INSTALL}: it re-enables the webhook and points it at {shown_url(wanted_url)}"
        if installer.webhook_token:
            fix += " (the token is ECM_JIRA_WEBHOOK_TOKEN, the value `ecm serve` checks)"
        return False, "; ".join(problems), fix
    return True, f"enabled, {shown_url(wanted_url)}", ""


def _workflow(mapping: Mapping, gateway: JiraGateway) -> tuple[bool, str, str]:
    name = workflow_name(mapping)
    installed = next(iter(gateway.workflows(name)), None)
    if installed is None:
        return False, f"no workflow named {name!r}", ""
    if problems := missing_rules(mapping, installed):
        fix = (
            f"{INSTALL}: it adds what {name!r} lacks through Jira's workflow update and keeps the rest; "
            "or restore the rules in Jira (Administration > Workflows)"
        )
        return False, "; ".join(problems), fix
    return True, f"{name}: approval groups, required fields and revert transitions in place", ""
