"""The business rule scripts, run under Node with stand-ins for the ServiceNow server-side API they call."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shutil
import subprocess

import pytest

from connector.servicenow.installer import script

NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")

GLIDE = r"""
const crypto = require('crypto');
const world = JSON.parse(process.argv[1]);
const sent = {headers: {}, aborted: false, errors: []};
function record(table, fields) {
  return {getTableName: () => table, getUniqueValue: () => fields.sys_id,
          getValue: (n) => (n in fields ? fields[n] : null), operation: () => world.operation,
          getElements: () => Object.keys(fields).map((n) => ({getName: () => n})),
          setAbortAction: (v) => { sent.aborted = v; }};
}
global.current = record(world.table, world.current);
global.previous = world.previous ? record(world.table, world.previous) : null;
global.gs = {getProperty: (n, d) => (world.properties[n] || d), warn: (m) => sent.errors.push(m),
             generateGUID: () => 'f'.repeat(32), getUserName: () => 'someone.else',
             addErrorMessage: (m) => sent.errors.push(m)};
global.GlideRecord = function (table) {
  let rows = [], at = -1, filters = [];
  const self = {
    get: (id) => {
      const r = (world.tables[table] || {})[id];
      if (r) Object.assign(self, record(table, r));
      return !!r;
    },
    addQuery: (f, v) => filters.push([f, v]), setLimit: () => {},
    query: () => { rows = Object.values(world.tables[table] || {}).filter((r) => filters.every(([f, v]) =>
      f === 'group.name' ? world.tables.sys_user_group[r.group].name === v : r[f] === v)); },
    hasNext: () => at + 1 < rows.length,
    next: () => {
      at += 1;
      if (at < rows.length) Object.assign(self, record(table, rows[at]));
      return at < rows.length;
    },
  };
  return self;
};
global.GlideDateTime = function () { return {getValue: () => '2099-01-01 00:00:00'}; };
global.GlideStringUtil = {base64Encode: (s) => Buffer.from(s).toString('base64')};
global.GlideCertificateEncryption = function () {
  return {generateMac: (key, alg, body) =>
    crypto.createHmac('sha256', Buffer.from(key, 'base64')).update(body).digest('base64')};
};
global.sn_ws = {RESTMessageV2: function () {
  return {setEndpoint: (u) => { sent.url = u; }, setHttpMethod: (m) => { sent.method = m; },
          setHttpTimeout: () => {}, setRequestHeader: (k, v) => { sent.headers[k] = v; },
          setRequestBody: (b) => { sent.body = b; }, executeAsync: () => { sent.executed = true; }};
}};
"""

CHANGE = {
    "sys_id": "c" * 32,
    "number": "CHG0030001",
    "type": "emergency",
    "state": "-3",
    "approval": "requested",
    "comments": "",
    "sys_updated_by": "eng.emma",
    "sys_updated_on": "2025-03-04 10:00:00",
    "sys_mod_count": "2",
}
PROPERTIES = {
    "x_ecm.connector_url": "https://ecm.example.com/webhooks/servicenow",
    "x_ecm.connector_secret": "k3y",
}


def run(source: str, world: dict) -> dict:
    program = GLIDE + source + "\nprocess.stdout.write(JSON.stringify(sent));"
    done = subprocess.run(
        [NODE, "-e", program, json.dumps(world)], capture_output=True, text=True, timeout=20, check=True
    )
    return json.loads(done.stdout)


def notify(world: dict) -> dict:
    return run(
        script("notify.js", CHANGE_TABLE="change_request", CHANGE_TYPE="emergency"),
        {"properties": PROPERTIES, "tables": {"change_request": {CHANGE["sys_id"]: CHANGE}}, **world},
    )


def test_state_change_is_posted_signed_as_the_contract_says():
    before = {**CHANGE, "state": "-5", "approval": "not requested", "sys_mod_count": "1"}
    sent = notify({"table": "change_request", "operation": "update", "current": CHANGE, "previous": before})

    body = sent["body"].encode()
    payload = json.loads(body)
    expected = base64.b64encode(hmac.new(b"k3y", body, hashlib.sha256).digest()).decode()
    url = PROPERTIES["x_ecm.connector_url"]
    assert (sent["url"], sent["method"], sent["executed"]) == (url, "post", True)
    assert sent["headers"]["X-ECM-Signature"] == expected
    assert sent["headers"]["X-ECM-Event-Id"] == payload["event_id"] == "f" * 32
    assert list(payload) == sorted(payload)
    assert (payload["changed"], payload["previous"]) == (
        ["approval", "state"],
        {"approval": "not requested", "state": "-5"},
    )
    assert (payload["actor"], payload["change_number"]) == ("eng.emma", "CHG0030001")


def test_work_note_on_an_emergency_change_is_posted_as_a_journal_insert():
    note = {
        "sys_id": "d" * 32,
        "element": "work_notes",
        "element_id": CHANGE["sys_id"],
        "name": "change_request",
        "value": "/approve",
        "sys_updated_by": "lead.liam",
    }
    sent = notify({"table": "sys_journal_field", "operation": "insert", "current": note, "previous": None})

    payload = json.loads(sent["body"])
    assert (payload["table"], payload["change_sys_id"], payload["record"]["value"]) == (
        "sys_journal_field",
        CHANGE["sys_id"],
        "/approve",
    )
    assert payload["previous"] == {}


def test_normal_change_and_quiet_updates_send_nothing():
    normal = {**CHANGE, "type": "normal"}
    quiet = {**CHANGE, "sys_mod_count": "3"}

    assert "body" not in notify(
        {
            "table": "change_request",
            "operation": "update",
            "current": normal,
            "previous": normal,
            "tables": {"change_request": {}},
        }
    )
    assert "body" not in notify(
        {"table": "change_request", "operation": "update", "current": quiet, "previous": CHANGE}
    )


@pytest.mark.parametrize(("approved_by", "aborted"), [(["lead", "sec"], False), (["lead"], True), ([], True)])
def test_block_rule_aborts_implement_unless_both_groups_approved(approved_by, aborted):
    groups = {"g1": {"name": "Engineering Leads"}, "g2": {"name": "Security Team"}}
    members = {"m1": {"user": "lead", "group": "g1"}, "m2": {"user": "sec", "group": "g2"}}
    approvals = {
        user: {"sysapproval": CHANGE["sys_id"], "approver": user, "state": "approved"} for user in approved_by
    }
    source = script("block_implement.js", GROUPS=json.dumps(["Engineering Leads", "Security Team"]))

    tables = {"sys_user_group": groups, "sys_user_grmember": members, "sysapproval_approver": approvals}
    implement = {**CHANGE, "state": "-1"}
    sent = run(
        source,
        {
            "table": "change_request",
            "operation": "update",
            "current": implement,
            "previous": CHANGE,
            "properties": {},
            "tables": tables,
        },
    )

    assert sent["aborted"] is aborted
    assert bool(sent["errors"]) is aborted
    if aborted:
        assert "Engineering Leads and Security Team" in sent["errors"][0]
