"""The demo's Jira story on Jira Data Center: what differs from Cloud, on top of `JiraStack` / `JiraStory`.

`DataCenterStack` installs as a Data Center admin would: `ecm install` creates what REST allows and writes
the steps; the admin adds the statuses it asks for (Administration > Issues > Statuses), runs `ecm install`
again, imports the workflow XML it then writes, puts it in a workflow scheme, switches the project to it
and adds the category's options the steps file lists (Custom field > Configure > Edit options, read from
the file's own line) — the administration pages played through the sandbox's `/_sandbox/admin/*`
stand-ins. Deliveries are
unsigned, as Jira Data Center 9 sends them, and authenticated by the URL token the installer registered.

`DataCenterStory` types the pull request and documentation links into their fields (Data Center's
changelog names fields by display name) instead of using the comment commands.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from connector.config import Settings
from connector.demo.stack import JiraStack
from connector.demo.story import DOCS_URL, PR_URL, JiraStory
from connector.jira import installer
from connector.jira.workflow import ALL_STAGES, CATEGORY, workflow_name
from connector.mapping import Mapping, load_mapping

REPO = Path(__file__).resolve().parents[2]
DATACENTER_MAPPING = REPO / "mappings" / "jira-datacenter.yaml"
# The steps file's line for the options (connector/jira/workflow_xml.py, install_steps, step 4).
EDIT_OPTIONS = re.compile(
    r"^\d+\. Custom field '(?P<field>[^']+)' > Configure > Edit options: (?P<options>.+)\.$", re.M
)


def edit_options_step(steps: str) -> tuple[str, list[str]]:
    """The field and the options the steps file tells the admin to add in its Edit options page."""
    found = EDIT_OPTIONS.search(steps)
    if found is None:
        raise ValueError("the install steps name no Custom field > Configure > Edit options step")
    return found["field"], found["options"].split(", ")


class DataCenterStack(JiraStack):
    secret_variable = "ECM_JIRA_WEBHOOK_TOKEN"  # noqa: S105 - a variable name, not a secret
    default_mapping = DATACENTER_MAPPING

    def __init__(self, data_dir: Path, **options: Any) -> None:
        super().__init__(data_dir, flavor="datacenter", **options)
        self.steps_seen: list[str] = []  # the steps files, in the order install wrote them

    def _tool_environ(self, sandbox_url: str) -> dict[str, str]:
        environ = super()._tool_environ(sandbox_url)
        del environ["ECM_JIRA_WEBHOOK_SECRET"]  # Data Center 9 cannot sign
        return {**environ, "ECM_JIRA_WEBHOOK_TOKEN": self.secret}

    def install(self, settings: Settings) -> None:
        mapping = load_mapping(self.mapping_path)
        self._install(mapping, settings)
        statuses = {mapping.jira.statuses.status_of(stage): stage for stage in ALL_STAGES}
        for name in self._missing_statuses(mapping, settings):
            self._admin("POST", "statuses", {"name": name, "category": CATEGORY[statuses[name]]})
            self.progress(f"  admin     adds the status {name!r} (Administration > Issues > Statuses)")
        self._install(mapping, settings)
        self._import_workflow(mapping)
        self._edit_options(self.steps_seen[-1])

    def _install(self, mapping: Mapping, settings: Settings) -> None:
        super().install(settings)
        self.steps_seen.append((self.data_dir / f"ecm-{mapping.jira.project}-install-steps.txt").read_text())

    def _missing_statuses(self, mapping: Mapping, settings: Settings) -> list[str]:
        assert self.connector is not None
        gateway = self.connector.tools["jira"].gateway
        found = installer.plan(mapping, gateway, settings=settings).items
        return [i.name for i in found if i.kind == "status" and i.action == "manual"]

    def _import_workflow(self, mapping: Mapping) -> None:
        name, project = workflow_name(mapping), mapping.jira.project
        xml = (self.data_dir / f"ecm-{project}-workflow.xml").read_text()
        self._admin("POST", "workflows/import", {"name": name, "xml": xml})
        scheme = {"name": f"{name} scheme", "issueTypeMappings": {mapping.jira.issue_types.change: name}}
        self._admin("POST", "workflowschemes", scheme)
        self._admin("PUT", f"projects/{project}/workflowscheme", {"scheme": scheme["name"]})
        self.progress(f"  admin     imported {name!r} and switched {project} to {scheme['name']!r}")

    def _edit_options(self, steps: str) -> None:
        field, options = edit_options_step(steps)
        self._admin("POST", f"fields/{field}/options", {"options": options})
        self.progress(
            f"  admin     adds the options {', '.join(options)} to {field!r} (Configure > Edit options)"
        )

    def _admin(self, method: str, path: str, body: dict[str, Any]) -> None:
        response = self.sandbox.admin_page(method, path, body)
        if response.status_code >= 300:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")


class DataCenterStory(JiraStory):
    def record_links(self, key: str) -> None:
        """Typed into their fields: Data Center's changelog names them by display name, not id."""
        self.say("  eng.emma   types the PR and documentation links into their fields")
        links = {"pr_url": PR_URL, "docs_url": DOCS_URL}
        self.person("eng.emma").edit_issue(key, {self.field_ids[f]: url for f, url in links.items()})
        recorded = self.stack.settle(
            lambda: (f := self.facts(key)).pr_url == PR_URL and f.docs_url == DOCS_URL
        )
        self.expect("the PR and documentation links typed into the fields were recorded (R8)", recorded)
