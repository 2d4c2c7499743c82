/*
 * ECM Connector: notify connector (installed by `ecm install`; changes made here are overwritten).
 *
 * Runs after insert and update of the table named below and queues one JSON notification to the ECM
 * Connector for every change that belongs to an emergency change_request, in u_ecm_notification; the
 * rule "ECM Connector: deliver notifications" signs and sends it and the scheduled job "ECM Connector:
 * resend notifications" retries it until the connector answers 2xx (RESTMessageV2.executeAsync() would
 * send it once: a failed or lost delivery would be gone). The body follows
 * docs/servicenow-notify-contract.md; the signature is HMAC-SHA256 (Base64) of the raw body, keyed with
 * the system property x_ecm.connector_secret, in the X-ECM-Signature header.
 * A comment or work note written with the record (through a form or the Table API) is sent as its own
 * notification with `current.<field>.getJournalEntry(1)`: business rules on sys_journal_field do not run
 * for journal writes, so the record's own rule is where they can be seen.
 * An "after" rule (not "async") so that `previous` is available; the HTTP call happens outside the
 * user's transaction.
 */
(function executeRule(current, previous /* null on insert */) {
    var CHANGE_TABLE = '@@CHANGE_TABLE@@';
    var CHANGE_TYPE = '@@CHANGE_TYPE@@';
    var SYSTEM_FIELDS = {sys_id: 1, sys_created_on: 1, sys_created_by: 1, sys_updated_on: 1,
                         sys_updated_by: 1, sys_mod_count: 1};
    var QUIET_FIELDS = {sys_updated_on: 1, sys_updated_by: 1, sys_mod_count: 1};
    var JOURNAL_FIELDS = {comments: 1, work_notes: 1};  // their text comes from getJournalEntry(1)

    function changeById(sysId) {
        var change = new GlideRecord(CHANGE_TABLE);
        return sysId && change.get(sysId) ? change : null;
    }

    function changeOf(record, table) {
        if (table == CHANGE_TABLE) return record;
        if (table == 'change_task') return changeById(record.getValue('change_request'));
        if (table == 'sysapproval_approver') return changeById(record.getValue('sysapproval'));
        return null;
    }

    var table = current.getTableName();
    var change = changeOf(current, table);
    if (!change || change.getValue('type') != CHANGE_TYPE) return;

    var operation = current.operation() == 'insert' ? 'insert' : 'update';
    var names = [], record = {}, before = {}, changed = [];
    var elements = current.getElements();
    var count = elements.size ? elements.size() : elements.length;
    for (var i = 0; i < count; i++) {
        names.push(String((elements.get ? elements.get(i) : elements[i]).getName()));
    }
    names.sort();  // the contract writes keys sorted
    var journal = [];  // {element, entry}: a comment or work note written with this insert or update
    for (var n = 0; n < names.length; n++) {
        var name = names[n];
        var value = current.getValue(name) === null || JOURNAL_FIELDS[name] ? '' : String(current.getValue(name));
        record[name] = value;
        if (JOURNAL_FIELDS[name]) {
            if (table != 'sysapproval_approver' && current[name].changes()) {
                journal.push({element: name, entry: String(current[name].getJournalEntry(1))});
            }
            continue;
        }
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

    function send(eventId, body) {  // queued; "ECM Connector: deliver notifications" sends and retries
        var row = new GlideRecord('u_ecm_notification');
        row.initialize();
        row.setValue('u_event_id', eventId);
        row.setValue('u_change', String(change.getUniqueValue()));
        row.setValue('u_body', body);
        row.setValue('u_state', 'ready');
        row.setValue('u_attempts', '0');
        var retry = new GlideDateTime();
        retry.addSeconds(60);  // the deliver rule sends it now; the resend job only if that failed
        row.setValue('u_next_attempt', retry.getValue());
        row.insert();
    }

    function post(changedNames, previousValues, entry) {
        var eventId = String(gs.generateGUID());  // 32 hex
        var message = {  // keys in sorted order, as the contract says
            actor: String(current.getValue('sys_updated_by') || gs.getUserName()),
            change_number: String(change.getValue('number') || ''),
            change_sys_id: String(change.getUniqueValue()),
            changed: changedNames,
            event_id: eventId,
            journal: entry,
            operation: operation,
            previous: previousValues,
            record: record,
            sent_at: String(current.getValue('sys_updated_on') || new GlideDateTime().getValue()),
            sys_id: String(current.getUniqueValue()),
            table: String(table)
        };
        if (!entry) delete message.journal;
        send(eventId, JSON.stringify(message));
    }

    if (operation == 'insert' || changed.length > 0) post(changed, before, null);
    for (var j = 0; j < journal.length; j++) post([journal[j].element], {}, journal[j]);
})(current, previous);
