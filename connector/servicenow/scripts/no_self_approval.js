/*
 * ECM Connector: no self-approval (installed by `ecm install`; changes made here are overwritten).
 *
 * Before update of an approval whose state changes to approved, on an emergency change: refuse it when
 * the approver is the change's requester (the engineer), or has already approved the same change in the
 * other role (ENG-PROC-004 step 2, rule R3: neither approver is the engineer, and one person cannot fill
 * both approval roles). The rule's name says why, because the Table API answers an aborted update with
 * the rule's name only; the form shows the message below.
 */
(function executeRule(current, previous /* null when async */) {
    var CHANGE_TABLE = '@@CHANGE_TABLE@@';
    var CHANGE_TYPE = '@@CHANGE_TYPE@@';

    var change = new GlideRecord(CHANGE_TABLE);
    if (!change.get(current.getValue('sysapproval'))) return;
    if (change.getValue('type') != CHANGE_TYPE) return;
    var approver = current.getValue('approver');
    var reason = '';
    if (approver && approver == change.getValue('requested_by')) {
        reason = 'the requester of an emergency change cannot approve it';
    } else {
        var other = new GlideRecord('sysapproval_approver');
        other.addQuery('sysapproval', change.getUniqueValue());
        other.addQuery('approver', approver);
        other.addQuery('state', 'approved');
        other.addQuery('sys_id', '!=', current.getUniqueValue());
        other.setLimit(1);
        other.query();
        if (other.hasNext()) reason = 'one person cannot fill both approval roles';
    }
    if (reason) {
        gs.addErrorMessage('ECM: ' + reason + ' (ENG-PROC-004 step 2, R3).');
        current.setAbortAction(true);
    }
})(current, previous);
