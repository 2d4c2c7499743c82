/*
 * ECM Connector: refuse a step the procedure does not allow yet (installed by `ecm install`; changes made
 * here are overwritten).
 *
 * Before update of an emergency change whose state changes to @@STATE_LABEL@@: refuse the update unless
 * the connector has opened that step in the change's gate field @@GATE_FIELD@@, which lists the steps the
 * procedure allows now (approved, deployed, closed). Only the connector's account may write that field:
 * a write ACL on it, installed with this rule, grants nobody else (not even admin). The connector opens a
 * step once the rules hold (ENG-PROC-004 @@STEP@@: @@REASON@@) and closes it again when they stop holding.
 * An entry `step?field` opens the step for an update that fills `field` itself (a close with its close
 * code, which is the change's documentation).
 * The rule's name says why, because the Table API answers an aborted update with the rule's name only;
 * the form shows the message below. The connector's own moves (a revert) are never refused here.
 */
(function executeRule(current, previous /* null when async */) {
    var CONNECTOR = '@@CONNECTOR@@';
    var GATE_FIELD = '@@GATE_FIELD@@';
    var STAGE = '@@STAGE@@';
    var MESSAGE = '@@MESSAGE@@';

    if (gs.getUserName() == CONNECTOR) return;
    var open = String(current.getValue(GATE_FIELD) || '').split(',');
    for (var i = 0; i < open.length; i++) {
        var entry = open[i].replace(/^\s+|\s+$/g, '').split('?');
        if (entry[0] != STAGE) continue;
        if (entry.length == 1 || String(current.getValue(entry[1]) || '') !== '') return;
    }
    gs.addErrorMessage(MESSAGE);
    current.setAbortAction(true);
})(current, previous);
