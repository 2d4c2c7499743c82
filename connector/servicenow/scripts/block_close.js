/*
 * ECM Connector: block close without post-mortem (installed by `ecm install`; changes made here are
 * overwritten).
 *
 * Before update of an emergency change whose state changes to Closed: refuse the update unless its
 * post-mortem task is closed with the report link in its close notes (ENG-PROC-004 step 5, rule R8).
 * A closed change cannot be moved back (the state model has no way out of Closed, for any account), so
 * this is the one place the instance can stop it; the connector checks the rest of R8.
 */
(function executeRule(current, previous /* null when async */) {
    var TASK_TABLE = '@@TASK_TABLE@@';
    var TASK_TYPE = '@@TASK_TYPE@@';
    var PREFIX = '@@PREFIX@@';
    var CLOSED_TASK = '3';

    var task = new GlideRecord(TASK_TABLE);
    task.addQuery('change_request', current.getUniqueValue());
    task.addQuery('change_task_type', TASK_TYPE);
    task.addQuery('short_description', 'STARTSWITH', PREFIX);
    task.query();
    var done = false, found = false;
    while (task.next()) {
        found = true;
        var notes = String(task.getValue('close_notes') || '');
        if (task.getValue('state') == CLOSED_TASK && /https?:\/\//.test(notes)) done = true;
    }
    if (!done) {
        gs.addErrorMessage('ECM: Closing needs the post-mortem task closed with its report link ' +
                           '(ENG-PROC-004 step 5, R8). ' +
                           (found ? 'The post-mortem task is still open or has no report link.'
                                  : 'The change has no post-mortem task yet.'));
        current.setAbortAction(true);
    }
})(current, previous);
