"""R1 at creation, R8's retroactive items, and where each rule stands in an evidence packet."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from connector.procedure.model import Role, Stage, Violation
from connector.procedure.policy import Policy
from connector.procedure.rules import RULES, check_created, evaluate, r6_deploy, retroactive_items

from .procedure_facts import GROUPS, LEAD, NOW, REJECTION, SECURITY, approval, at, change_at, verbal

READY = change_at(Stage.IDENTIFIED, facts_up_to=Stage.AWAITING_APPROVAL)


@pytest.mark.parametrize("category", ["Service outage", "SERVICE OUTAGE", " data corruption "])
def test_category_is_matched_without_regard_to_case(category):
    assert check_created(replace(READY, category=category), Policy()).allowed


def test_new_change_without_category_or_impact_lists_both_and_the_allowed_categories():
    decision = check_created(replace(READY, category="Typo", impact="  "), Policy())
    assert decision.rules == ("R1",)
    assert decision.violations[0].step == 1
    assert decision.violations[0].missing == (
        "critical issue category (one of: Service outage, Data corruption, Security vulnerability, "
        "Customer impact)",
        "impact description",
    )


def test_retroactive_items_name_what_is_still_open_after_deploy():
    assert retroactive_items(change_at(Stage.POSTMORTEM)) == (
        "post-mortem task done with a report link",
        "Pull Request link",
        "standard change documentation",
    )
    assert retroactive_items(change_at(Stage.CLOSED)) == ()


def test_rules_table_names_step_and_title_of_every_rule():
    assert list(RULES) == [f"R{n}" for n in range(1, 11)]
    assert RULES["R5"].step == 3 and RULES["R7"].step == 5
    assert "Security Team" in RULES["R2"].title


def test_closed_change_holds_every_rule_with_its_evidence():
    statuses = evaluate(change_at(Stage.CLOSED), GROUPS, at(60 * 24 * 10), Policy())
    assert {rule: s.status for rule, s in statuses.items()} == dict.fromkeys(RULES, "held")
    assert statuses["R2"].evidence.startswith("lead.liam (lead, written 2026-11-23 09:10 UTC")
    assert "sec.sara (security, written" in statuses["R2"].evidence
    assert statuses["R6"].evidence == "deployed 2026-11-23 10:00 UTC, after both approvals and both reviews"
    assert statuses["R9"].evidence == "no transition broke the procedure"


def test_new_change_has_its_later_rules_pending():
    statuses = evaluate(READY, GROUPS, NOW, Policy())
    assert statuses["R1"].status == "held"
    assert [statuses[r].status for r in ("R2", "R3", "R4", "R5", "R6", "R7", "R8", "R10")] == ["pending"] * 8
    assert statuses["R2"].evidence == (
        "open: approval from a member of the Engineering Leads; approval from a member of the Security Team"
    )


def test_deploy_without_reviews_is_reported_as_r5_and_r6_violations():
    change = replace(change_at(Stage.DEPLOYED), reviews=())
    statuses = evaluate(change, GROUPS, NOW, Policy())
    assert statuses["R5"].status == statuses["R6"].status == "violated"
    assert "peer review by someone other than the engineer" in statuses["R6"].evidence


def test_verbal_approval_confirmed_late_is_an_r4_violation_in_the_evidence():
    late = verbal(LEAD, Role.LEAD, at(60), confirmed_at=at(90))
    change = replace(change_at(Stage.APPROVED), approvals=(late, approval(SECURITY, Role.SECURITY)))
    status = evaluate(change, GROUPS, NOW, Policy())["R4"]
    assert status.status == "violated"
    assert "confirmed the verbal lead approval late" in status.evidence


def test_verbal_approval_awaiting_confirmation_is_pending():
    change = replace(change_at(Stage.APPROVED), approvals=(verbal(LEAD, Role.LEAD, at(600)),))
    assert evaluate(change, GROUPS, at(100), Policy())["R4"].status == "pending"
    assert evaluate(change, GROUPS, at(601), Policy())["R4"].status == "violated"


def test_overdue_post_mortem_breaks_r8_and_r10():
    change = change_at(Stage.POSTMORTEM)
    overdue = change.postmortem.due_at + timedelta(minutes=1)
    statuses = evaluate(change, GROUPS, overdue, Policy())
    assert statuses["R8"].status == statuses["R10"].status == "violated"
    assert statuses["R10"].evidence == "post-mortem overdue since 2026-12-01 09:00 UTC"
    assert evaluate(change, GROUPS, NOW, Policy())["R10"].status == "pending"


def test_rejected_change_holds_r2_through_its_rejection():
    change = replace(change_at(Stage.REJECTED, facts_up_to=Stage.AWAITING_APPROVAL), rejection=REJECTION)
    status = evaluate(change, GROUPS, NOW, Policy())["R2"]
    assert (status.status, status.evidence) == (
        "held",
        "rejected by sec.sara 2026-11-23 09:20 UTC: Fix opens an injection hole",
    )


def test_blocked_or_reverted_attempts_leave_r9_held_as_its_exceptions():
    recorded = [Violation("R5", 3, "no review"), Violation("R6", 4, "early deploy")]
    status = evaluate(change_at(Stage.DEPLOYED), GROUPS, NOW, Policy(), recorded=recorded)["R9"]
    assert status.status == "held"
    assert status.evidence == (
        "the control worked: 2 attempts that broke the procedure were blocked or reverted (R5, R6); "
        "listed as exceptions"
    )


def test_one_reverted_attempt_is_counted_in_the_singular():
    recorded = [Violation("R5", 3, "no review")]
    status = evaluate(change_at(Stage.DEPLOYED), GROUPS, NOW, Policy(), recorded=recorded)["R9"]
    assert status.evidence == (
        "the control worked: 1 attempt that broke the procedure was blocked or reverted (R5); "
        "listed as exceptions"
    )


def test_an_attempt_that_stood_violates_r9():
    caught, stood = [Violation("R5", 3, "no review")], [Violation("R6", 4, "early deploy")]
    status = evaluate(change_at(Stage.DEPLOYED), GROUPS, NOW, Policy(), recorded=caught, stood=stood)["R9"]
    assert status.status == "violated"
    assert status.evidence == "1 attempt that broke the procedure stood: R6"


EXPLAINED_CASES = {
    "closed": change_at(Stage.CLOSED),
    "new": READY,
    "deployed without reviews": replace(change_at(Stage.DEPLOYED), reviews=()),
    "verbal confirmed late": replace(
        change_at(Stage.CLOSED),
        approvals=(verbal(LEAD, Role.LEAD, at(60), confirmed_at=at(90)), approval(SECURITY, Role.SECURITY)),
    ),
    "rejected": replace(change_at(Stage.REJECTED, facts_up_to=Stage.AWAITING_APPROVAL), rejection=REJECTION),
    "post-mortem open": change_at(Stage.POSTMORTEM),
}


@pytest.mark.parametrize("change", EXPLAINED_CASES.values(), ids=EXPLAINED_CASES.keys())
def test_leaving_out_the_evidence_of_held_rules_changes_no_status_and_no_other_evidence(change):
    for now in (NOW, at(60 * 24 * 30)):
        full = evaluate(change, GROUPS, now, Policy())
        brief = evaluate(change, GROUPS, now, Policy(), explain=False)
        assert {r: s.status for r, s in brief.items()} == {r: s.status for r, s in full.items()}
        assert {r: s for r, s in brief.items() if s.status != "held" or r == "R9"} == {
            r: s for r, s in full.items() if s.status != "held" or r == "R9"
        }
        assert all(s.evidence == "" for r, s in brief.items() if s.status == "held" and r != "R9")


def test_a_change_rejected_and_deployed_anyway_breaks_r6_though_its_rejection_holds_r2():
    rejected = replace(change_at(Stage.REJECTED, facts_up_to=Stage.AWAITING_APPROVAL), rejection=REJECTION)
    deployed = replace(rejected, deployed_at=at(120))
    statuses = evaluate(deployed, GROUPS, NOW, Policy(), explain=False)
    assert statuses["R2"].status == "held"
    assert statuses["R6"].status == "violated"
    assert "approval from a member of the Engineering Leads" in statuses["R6"].evidence


R6_CASES = {
    **EXPLAINED_CASES,
    "rejected, deployed anyway": replace(EXPLAINED_CASES["rejected"], deployed_at=at(120)),
    "rejected with one approval, reviewed and deployed anyway": replace(
        change_at(Stage.DEPLOYED),
        stage=Stage.REJECTED,
        approvals=(approval(LEAD, Role.LEAD),),
        rejection=REJECTION,
    ),
    "verbal confirmed in time after the deploy": replace(
        change_at(Stage.CLOSED),
        approvals=(verbal(LEAD, Role.LEAD, at(600), confirmed_at=at(300)), approval(SECURITY, Role.SECURITY)),
    ),
    "verbal unconfirmed at deploy": replace(
        change_at(Stage.DEPLOYED),
        approvals=(verbal(LEAD, Role.LEAD, at(600)), approval(SECURITY, Role.SECURITY)),
    ),
}


@pytest.mark.parametrize("change", R6_CASES.values(), ids=R6_CASES.keys())
def test_r6_in_the_evaluation_is_what_it_finds_checking_r1_to_r5_at_the_deploy_itself(change):
    for now in (NOW, at(60 * 24 * 30)):
        for explain in (True, False):
            evaluated = evaluate(change, GROUPS, now, Policy(), explain=explain)["R6"]
            assert evaluated[1:] == r6_deploy.verdict(change, now, Policy(), explain, ready=False)
