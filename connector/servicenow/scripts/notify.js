/*
 * ECM Connector: notify connector (installed by `ecm install`; changes made here are overwritten).
 *
 * Runs after insert and update of the table named below and posts one signed JSON notification to the
 * ECM Connector for every change that belongs to an emergency change_request. The body follows
 * docs/servicenow-notify-contract.md; it is signed with HMAC-SHA256 (Base64) of the raw body, keyed
 * with the system property x_ecm.connector_secret, in the X-ECM-Signature header.
 * An "after" rule (not "async") so that `previous` is available; executeAsync() keeps the
 * user's transaction from waiting on the HTTP call.
 */
(function executeRule(current, previous /* null on insert */) {
    var CHANGE_TABLE = '@@CHANGE_TABLE@@';
    var CHANGE_TYPE = '@@CHANGE_TYPE@@';
    var SYSTEM_FIELDS = {sys_id: 1, sys_created_on: 1, sys_created_by: 1, sys_updated_on: 1,
                         sys_updated_by: 1, sys_mod_count: 1};
    var QUIET_FIELDS = {sys_updated_on: 1, sys_updated_by: 1, sys_mod_count: 1};
    var JOURNAL_FIELDS = {comments: 1, work_notes: 1, comments_and_work_notes: 1};  // text comes as sys_journal_field

    function changeById(sysId) {
        var change = new GlideRecord(CHANGE_TABLE);
        return sysId && change.get(sysId) ? change : null;
    }

    function taskChange(taskSysId) {
        var task = new GlideRecord('change_task');
        return task.get(taskSysId) ? changeById(task.getValue('change_request')) : null;
    }

    function changeOf(record, table) {
        if (table == CHANGE_TABLE) return record;
        if (table == 'change_task') return changeById(record.getValue('change_request'));
        if (table == 'sysapproval_approver') return changeById(record.getValue('sysapproval'));
        if (table == 'sys_journal_field' && JOURNAL_FIELDS[record.getValue('element')]) {
            var journalTable = record.getValue('name');
            if (journalTable == CHANGE_TABLE) return changeById(record.getValue('element_id'));
            if (journalTable == 'change_task') return taskChange(record.getValue('element_id'));
        }
        return null;
    }

    var table = current.getTableName();
    var change = changeOf(current, table);
    if (!change || change.getValue('type') != CHANGE_TYPE) return;

    var url = gs.getProperty('x_ecm.connector_url', '');
    var secret = gs.getProperty('x_ecm.connector_secret', '');
    if (!url || !secret) {
        gs.warn('ECM Connector: set x_ecm.connector_url and x_ecm.connector_secret (run ecm install)');
        return;
    }

    var operation = current.operation() == 'insert' ? 'insert' : 'update';
    var names = [], record = {}, before = {}, changed = [];
    var elements = current.getElements();
    var count = elements.size ? elements.size() : elements.length;
    for (var i = 0; i < count; i++) {
        names.push(String((elements.get ? elements.get(i) : elements[i]).getName()));
    }
    names.sort();  // the contract writes keys sorted
    for (var n = 0; n < names.length; n++) {
        var name = names[n];
        var value = current.getValue(name) === null || JOURNAL_FIELDS[name] ? '' : String(current.getValue(name));
        record[name] = value;
        if (JOURNAL_FIELDS[name]) continue;
        if (operation == 'insert') {
            if (value !== '' && !SYSTEM_FIELDS[name]) changed.push(name);
        } else if (previous && !QUIET_FIELDS[name]) {
            var old = previous.getValue(name) === null ? '' : String(previous.getValue(name));
            if (old !== value) {
                changed.push(name);
                before[name] = old;
            }
        }
    }
    if (operation == 'update' && changed.length === 0) return;

    var eventId = String(gs.generateGUID());  // 32 hex
    var body = JSON.stringify({  // keys in sorted order, as the contract says
        actor: String(current.getValue('sys_updated_by') || gs.getUserName()),
        change_number: String(change.getValue('number') || ''),
        change_sys_id: String(change.getUniqueValue()),
        changed: changed,
        event_id: eventId,
        operation: operation,
        previous: before,
        record: record,
        sent_at: String(current.getValue('sys_updated_on') || new GlideDateTime().getValue()),
        sys_id: String(current.getUniqueValue()),
        table: String(table)
    });
    var key = GlideStringUtil.base64Encode(secret);
    var signature = new GlideCertificateEncryption().generateMac(key, 'HmacSHA256', body);

    var request = new sn_ws.RESTMessageV2();
    request.setEndpoint(url);
    request.setHttpMethod('post');
    request.setHttpTimeout(10000);
    request.setRequestHeader('Content-Type', 'application/json');
    request.setRequestHeader('X-ECM-Event-Id', eventId);
    request.setRequestHeader('X-ECM-Signature', signature);
    request.setRequestBody(body);
    request.executeAsync();
})(current, previous);
