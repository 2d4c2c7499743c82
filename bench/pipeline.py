"""Pipeline deploys benchmark: how long a production deploy GitHub reports takes to show in Jira.

    .venv/bin/python bench/pipeline.py [--bypasses 20] [--approved 5]

In one process (`connector.demo.stack.JiraStack`: the Jira sandbox, the service behind a threaded WSGI
server, the outbox dispatcher thread), GitHub's `deployment_status` deliveries are signed and posted over
HTTP as GitHub posts them. Measured from the POST:

- answer: the webhook's 200 (verified, recorded, judged, committed);
- bypass: a deploy naming no change, until its bypass change exists in Jira (found by its deploy label)
  and the connector has recorded it with its post-mortem created;
- approved: a deploy naming an approved, reviewed change, until Jira shows the change Deployed and its
  post-mortem exists.

Each bypass deploy is also posted a second time under a new delivery id, and after the run the script
fails unless every deploy opened exactly one change. SQLite in a temporary directory; loopback only.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connector.demo.pipeline import REPOSITORY, PipelineChapter, deployment_status  # noqa: E402
from connector.demo.stack import JiraStack  # noqa: E402
from connector.demo.story import JiraStory  # noqa: E402
from connector.procedure.model import Stage  # noqa: E402


def wait(condition, timeout: float = 60.0) -> float:
    start = time.perf_counter()
    while not condition():
        if time.perf_counter() - start > timeout:
            raise SystemExit("timed out")
        time.sleep(0.005)
    return time.perf_counter() - start


def figures(name: str, seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    median = statistics.median(ms)
    return f"{name:10} n={len(ms):3}  median {median:7.1f} ms  p95 {p95:7.1f} ms  max {ms[-1]:7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bypasses", type=int, default=20)
    parser.add_argument("--approved", type=int, default=5)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as data, JiraStack(Path(data)) as stack:
        story = JiraStory(stack, say=lambda _line: None)
        chapter = PipelineChapter(story)
        answers, bypasses, approved, deploy_ids = [], [], [], []
        for _ in range(args.bypasses):
            status = deployment_status(chapter._id(), stack.clock())
            deploy_id = f"{REPOSITORY}#{status['deployment']['id']}"
            deploy_ids.append(deploy_id)
            start = time.perf_counter()
            chapter.post("deployment_status", status)
            answers.append(time.perf_counter() - start)

            def opened(deploy_id: str = deploy_id) -> bool:
                found = chapter._bypass_changes(deploy_id)
                facts = story.facts(found[0]) if found else None
                return bool(facts and facts.postmortem and facts.postmortem.key)

            bypasses.append(wait(opened) + answers[-1])
            chapter.post("deployment_status", status)  # reported again: nothing more
        for _ in range(args.approved):
            key = story.approved_change("Bench", engineer="eng.emma")
            story.move("eng.emma", key, story.section.statuses.in_review)
            story.wait_stage(key, Stage.IN_REVIEW)
            story.comment("peer.pete", key, "/peer-reviewed")
            story.comment("sec.sara", key, "/security-reviewed")
            stack.settle(lambda k=key: len(story.facts(k).reviews) == 2)
            story.move("eng.emma", key, story.section.statuses.reviewed)
            story.wait_stage(key, Stage.REVIEWED)
            stack.settle(lambda k=key: story.offered("eng.emma", k, "Deploy"), timeout=30)
            status = deployment_status(chapter._id(), stack.clock(), payload={"change": key})
            start = time.perf_counter()
            chapter.post("deployment_status", status)
            posted = time.perf_counter() - start

            def done(k: str = key) -> bool:
                facts = story.facts(k)
                return bool(facts.postmortem and facts.postmortem.key) and story.status(k) == "Deployed"

            approved.append(posted + wait(done))
        stack.settle(lambda: False, timeout=1.0)  # anything still arriving would open a second change
        counts = {d: len(chapter._bypass_changes(d)) for d in deploy_ids}
        if any(n != 1 for n in counts.values()):
            raise SystemExit(f"a deploy opened other than one change: {counts}")
    print(f"load average after: {os.getloadavg()}")
    print(figures("answer", answers))
    print(figures("bypass", bypasses))
    print(figures("approved", approved))


if __name__ == "__main__":
    main()
