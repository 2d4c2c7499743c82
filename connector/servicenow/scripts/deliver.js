/*
 * ECM Connector: deliver notifications (installed by `ecm install`; changes made here are overwritten).
 *
 * Sends the notifications the notify rules queue in u_ecm_notification. Installed twice with this text:
 * as an async business rule on insert into u_ecm_notification (`current` is the new row: sent at once,
 * from a background worker) and as the scheduled job "ECM Connector: resend notifications" (no
 * `current`: every row still `ready` whose u_next_attempt has come, oldest first). A 2xx answer marks
 * the row `sent`; anything else schedules the next attempt with exponential backoff (30 s, 1, 2, 4 …
 * minutes, at most 1 hour) until MAX_ATTEMPTS, then `error` (ecm doctor lists those). The body,
 * event id and signature are the same on every attempt, so the connector can deduplicate.
 */
(function deliver(current) {
    var MAX_ATTEMPTS = 12;
    var QUEUE = 'u_ecm_notification';

    function send(row) {
        var url = gs.getProperty('x_ecm.connector_url', '');
        var secret = gs.getProperty('x_ecm.connector_secret', '');
        if (!url || !secret) {
            gs.warn('ECM Connector: set x_ecm.connector_url and x_ecm.connector_secret (run ecm install)');
            return;
        }
        var body = String(row.getValue('u_body'));
        var key = GlideStringUtil.base64Encode(secret);
        var request = new sn_ws.RESTMessageV2();
        request.setEndpoint(url);
        request.setHttpMethod('post');
        request.setHttpTimeout(10000);
        request.setRequestHeader('Content-Type', 'application/json');
        request.setRequestHeader('X-ECM-Event-Id', String(row.getValue('u_event_id')));
        request.setRequestHeader('X-ECM-Signature',
                                 new GlideCertificateEncryption().generateMac(key, 'HmacSHA256', body));
        request.setRequestBody(body);
        var response = request.execute();  // a background worker: waiting for the answer is fine here
        var status = response.getStatusCode();
        var attempts = Number(row.getValue('u_attempts') || 0) + 1;

        var update = new GlideRecord(QUEUE);
        if (!update.get(row.getUniqueValue())) return;
        update.setValue('u_attempts', String(attempts));
        update.setValue('u_last_status', status ? String(status) : String(response.getErrorMessage()));
        if (status >= 200 && status < 300) {
            update.setValue('u_state', 'sent');
        } else if (attempts >= MAX_ATTEMPTS) {
            update.setValue('u_state', 'error');
            gs.error('ECM Connector: notification ' + row.getValue('u_event_id') + ' not delivered after ' +
                     attempts + ' attempts (last: ' + update.getValue('u_last_status') + ')');
        } else {
            var next = new GlideDateTime();
            next.addSeconds(Math.min(3600, 30 * Math.pow(2, attempts - 1)));
            update.setValue('u_next_attempt', next.getValue());
        }
        update.update();
    }

    if (current) {
        if (current.getValue('u_state') == 'ready') send(current);
        return;
    }
    var due = new GlideRecord(QUEUE);
    due.addQuery('u_state', 'ready');
    due.addQuery('u_next_attempt', '<=', new GlideDateTime().getValue());
    due.orderBy('sys_created_on');
    due.setLimit(100);
    due.query();
    while (due.next()) send(due);
})(typeof current == 'undefined' ? null : current);
