/*
 * ECM Connector: block implement without approvals (installed by `ecm install`; changes made here are
 * overwritten).
 *
 * Before update of an emergency change whose state changes to Implement: refuse the update unless a
 * member of each approver group has approved the change in sysapproval_approver (ENG-PROC-004 step 2,
 * rule R2). The connector checks the remaining rules and reverts what this rule cannot block.
 */
(function executeRule(current, previous /* null when async */) {
    var GROUPS = @@GROUPS@@;

    function isMember(userSysId, groupName) {
        var membership = new GlideRecord('sys_user_grmember');
        membership.addQuery('user', userSysId);
        membership.addQuery('group.name', groupName);
        membership.setLimit(1);
        membership.query();
        return membership.hasNext();
    }

    var approvedBy = {};
    var approval = new GlideRecord('sysapproval_approver');
    approval.addQuery('sysapproval', current.getUniqueValue());
    approval.addQuery('state', 'approved');
    approval.query();
    while (approval.next()) {
        for (var i = 0; i < GROUPS.length; i++) {
            if (isMember(approval.getValue('approver'), GROUPS[i])) approvedBy[GROUPS[i]] = true;
        }
    }

    var missing = [];
    for (var j = 0; j < GROUPS.length; j++) {
        if (!approvedBy[GROUPS[j]]) missing.push(GROUPS[j]);
    }
    if (missing.length > 0) {
        gs.addErrorMessage('ECM: Implement needs approvals from ' + GROUPS.join(' and ') +
                           ' (ENG-PROC-004 step 2). Missing: ' + missing.join(', ') + '.');
        current.setAbortAction(true);
    }
})(current, previous);
