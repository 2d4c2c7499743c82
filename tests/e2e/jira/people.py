"""The seeded people as the real `jira` library sees them, each signed in to the sandbox with their own
account (the sandbox's password is the user name)."""

from __future__ import annotations

import jira

from connector.demo.story import JiraStory


def client(story: JiraStory, name: str) -> jira.JIRA:
    made = jira.JIRA(
        story.stack.sandbox.url,
        basic_auth=(f"{name}@example.com", name),
        get_server_info=False,
        max_retries=0,
    )
    made.deploymentType = "Cloud"
    return made
