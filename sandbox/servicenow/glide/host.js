/*
 * The sandbox's script host: runs ServiceNow server-side scripts (business rules, scheduled jobs) under
 * Node with stand-ins for the Glide API they may call. One long-lived process per Instance; messages are
 * JSON lines on stdin/stdout. A script's calls into the instance (queries, writes, properties, HTTP) are
 * answered synchronously by Python; a nested script run (a business rule fired by a write the script
 * makes) can arrive while a call waits for its answer.
 *
 * Only real Glide APIs are stood in; each one cites its reference page. Anything else is undefined, so a
 * script calling it throws and the write fails.
 *   GlideRecord       https://developer.servicenow.com/dev.do#!/reference/api/xanadu/server_legacy/c_GlideRecordAPI
 *   GlideElement      https://developer.servicenow.com/dev.do#!/reference/api/xanadu/server_legacy/c_GlideElementAPI
 *   GlideSystem (gs)  https://developer.servicenow.com/dev.do#!/reference/api/xanadu/server_legacy/c_GlideSystemAPI
 *   GlideDateTime     https://developer.servicenow.com/dev.do#!/reference/api/xanadu/server_legacy/c_GlideDateTimeAPI
 *   GlideStringUtil   https://developer.servicenow.com/dev.do#!/reference/api/xanadu/server_legacy/GlideStringUtilAPI
 *   GlideCertificateEncryption.generateMac
 *                     https://developer.servicenow.com/dev.do#!/reference/api/xanadu/server_legacy/GCEncryptionAPI
 *   sn_ws.RESTMessageV2 / RESTResponseV2
 *                     https://developer.servicenow.com/dev.do#!/reference/api/xanadu/server/sn_ws-namespace/c_RESTMessageV2API
 */
'use strict';
const fs = require('fs');
const vm = require('vm');
const crypto = require('crypto');

let pending = '';
function readMessage() {
  const chunk = Buffer.alloc(65536);
  for (;;) {
    const newline = pending.indexOf('\n');
    if (newline >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      return JSON.parse(line);
    }
    let got;
    try {
      got = fs.readSync(0, chunk, 0, chunk.length, null);
    } catch (e) {
      if (e.code === 'EAGAIN') continue;
      throw e;
    }
    if (got === 0) process.exit(0);
    pending += chunk.toString('utf8', 0, got);
  }
}
function send(message) {
  const data = Buffer.from(JSON.stringify(message) + '\n', 'utf8');
  let at = 0;
  while (at < data.length) at += fs.writeSync(1, data, at, data.length - at);
}

/** Ask Python; while waiting, run any nested script Python starts. */
function call(fn, args) {
  send({op: 'call', fn: fn, args: args});
  for (;;) {
    const message = readMessage();
    if (message.op === 'run') { runScript(message); continue; }
    if (message.error) throw new Error(message.error);
    return message.value;
  }
}

function text(value) { return value === null || value === undefined ? '' : String(value); }

// --- GlideElement ------------------------------------------------------------------------------------
function GlideElement(record, name) { this._record = record; this._name = name; }
GlideElement.prototype.toString = function () { return text(this._record._value(this._name)); };
GlideElement.prototype.getName = function () { return this._name; };
GlideElement.prototype.getDisplayValue = function () { return this.toString(); };
GlideElement.prototype.nil = function () { return this.toString() === ''; };
GlideElement.prototype.changes = function () { return this._record._changed(this._name); };
GlideElement.prototype.changesTo = function (value) {
  return this.changes() && this.toString() === text(value);
};
GlideElement.prototype.changesFrom = function (value) {
  return this.changes() && text(this._record._before(this._name)) === text(value);
};
GlideElement.prototype.setValue = function (value) { this._record.setValue(this._name, value); };
/** getJournalEntry(1): the newest entry; -1: all, newest first. */
GlideElement.prototype.getJournalEntry = function (mostRecent) {
  const table = this._record.getTableName();
  return text(call('journal', [table, this._record.getUniqueValue(), this._name, mostRecent]));
};

// --- GlideRecord -------------------------------------------------------------------------------------
const OPERATORS = {'=': '=', '!=': '!=', '>': '>', '>=': '>=', '<': '<', '<=': '<=', 'IN': 'IN',
                   'NOT IN': 'NOT IN', 'STARTSWITH': 'STARTSWITH', 'ENDSWITH': 'ENDSWITH',
                   'CONTAINS': 'LIKE', 'DOES NOT CONTAIN': 'NOT LIKE'};

function GlideRecord(table) {
  if (!(this instanceof GlideRecord)) throw new TypeError('GlideRecord must be called with new');
  this._table = String(table);
  this._terms = [];
  this._limit = 0;
  this._rows = null;
  this._at = -1;
  this._fields = null;  // the current row
  this._previous = null;
  this._operation = null;
  this._changes = {};   // values set by the script, written on insert()/update()
  this._journalChanged = {};
  this._abort = false;
  return makeProxy(this);
}
function makeProxy(record) {
  return new Proxy(record, {
    get(target, property, receiver) {
      if (typeof property !== 'string' || property in target) return Reflect.get(target, property, receiver);
      if (target._hasField(property)) return new GlideElement(receiver, property);
      return undefined;
    },
    set(target, property, value) {
      if (typeof property === 'string' && !(property in target) && !property.startsWith('_')) {
        target.setValue(property, value instanceof GlideElement ? value.toString() : value);
        return true;
      }
      target[property] = value;
      return true;
    },
  });
}
GlideRecord.prototype._hasField = function (name) {
  return (this._fields && name in this._fields) || name in this._changes;
};
GlideRecord.prototype._value = function (name) {
  if (name in this._changes) return this._changes[name];
  return this._fields && name in this._fields ? this._fields[name] : null;
};
GlideRecord.prototype._before = function (name) {
  return this._previous && name in this._previous ? this._previous[name] : null;
};
GlideRecord.prototype._changed = function (name) {
  if (this._journalChanged[name]) return true;
  if (this._operation === 'insert') return text(this._value(name)) !== '';
  if (this._previous === null) return false;
  return text(this._value(name)) !== text(this._before(name));
};
GlideRecord.prototype.addQuery = function (field, operator, value) {
  if (arguments.length === 2) { value = operator; operator = '='; }
  const op = OPERATORS[String(operator).toUpperCase()];
  if (op === undefined) throw new Error('GlideRecord.addQuery: unknown operator ' + operator);
  this._terms.push(String(field) + op + (Array.isArray(value) ? value.join(',') : text(value)));
};
GlideRecord.prototype.addEncodedQuery = function (query) { this._terms.push(String(query)); };
GlideRecord.prototype.addNullQuery = function (field) { this._terms.push(String(field) + 'ISEMPTY'); };
GlideRecord.prototype.addNotNullQuery = function (field) { this._terms.push(String(field) + 'ISNOTEMPTY'); };
GlideRecord.prototype.orderBy = function (field) { this._terms.push('ORDERBY' + field); };
GlideRecord.prototype.orderByDesc = function (field) { this._terms.push('ORDERBYDESC' + field); };
GlideRecord.prototype.setLimit = function (limit) { this._limit = Number(limit); };
GlideRecord.prototype.query = function () {
  this._rows = call('query', [this._table, this._terms.join('^'), this._limit]);
  this._at = -1;
  this._fields = null;
};
GlideRecord.prototype.hasNext = function () {
  if (this._rows === null) throw new Error('GlideRecord.hasNext before query()');
  return this._at + 1 < this._rows.length;
};
GlideRecord.prototype.next = function () {
  if (this._rows === null) throw new Error('GlideRecord.next before query()');
  this._at += 1;
  this._changes = {};
  this._fields = this._at < this._rows.length ? this._rows[this._at] : null;
  return this._fields !== null;
};
GlideRecord.prototype.getRowCount = function () { return this._rows === null ? 0 : this._rows.length; };
GlideRecord.prototype.get = function (name, value) {
  const found = arguments.length === 1 ? call('get', [this._table, 'sys_id', text(name)])
                                       : call('get', [this._table, String(name), text(value)]);
  this._fields = found;
  this._changes = {};
  return found !== null;
};
GlideRecord.prototype.isValidRecord = function () { return this._fields !== null; };
GlideRecord.prototype.initialize = function () { this._fields = {}; this._changes = {}; };
GlideRecord.prototype.newRecord = GlideRecord.prototype.initialize;
GlideRecord.prototype.getValue = function (name) {
  const value = this._value(String(name));
  return value === null || value === undefined || value === '' ? null : String(value);  // empty → null
};
GlideRecord.prototype.setValue = function (name, value) { this._changes[String(name)] = text(value); };
GlideRecord.prototype.getUniqueValue = function () { return text(this._value('sys_id')); };
GlideRecord.prototype.getTableName = function () { return this._table; };
GlideRecord.prototype.getRecordClassName = function () { return text(this._value('sys_class_name')) || this._table; };
GlideRecord.prototype.operation = function () { return this._operation; };
GlideRecord.prototype.isNewRecord = function () { return this._operation === 'insert'; };
/** In the global scope getElements() answers a Java ArrayList: size() and get(i). */
GlideRecord.prototype.getElements = function () {
  const self = this;
  const names = Object.keys(Object.assign({}, this._fields || {}, this._changes));
  const elements = names.map((n) => new GlideElement(self, n));
  return {size: () => elements.length, get: (i) => elements[i]};
};
GlideRecord.prototype.insert = function () {
  const sysId = call('insert', [this._table, this._changes]);
  this._fields = Object.assign({}, this._changes, {sys_id: sysId});
  this._changes = {};
  return sysId;
};
GlideRecord.prototype.update = function () {
  if (this._operation !== null) throw new Error('current.update() in a business rule: not allowed by the sandbox (it re-runs the rules)');
  if (!this._fields || !this._fields.sys_id) throw new Error('GlideRecord.update without a record');
  call('update', [this._table, this._fields.sys_id, this._changes]);
  Object.assign(this._fields, this._changes);
  this._changes = {};
  return this._fields.sys_id;
};
GlideRecord.prototype.setAbortAction = function (abort) { this._abort = !!abort; };
GlideRecord.prototype.setWorkflow = function (enabled) { this._workflow = !!enabled; };

// --- GlideSystem ------------------------------------------------------------------------------------
function makeGs(run) {
  return {
    getProperty: (name, fallback) => {
      const value = call('property', [String(name)]);
      return value === null ? (fallback === undefined ? null : fallback) : value;
    },
    eventQueue: (name, record, parm1, parm2, queue) => {
      call('eventQueue', [String(name), record ? record.getTableName() : '', record ? record.getUniqueValue() : '',
                          text(parm1), text(parm2), text(queue)]);
    },
    generateGUID: () => crypto.randomBytes(16).toString('hex'),
    getUserName: () => run.user,
    getUserID: () => run.user_sys_id,
    nowDateTime: () => call('now', []),
    info: (message) => run.log.push(['info', text(message)]),
    warn: (message) => run.log.push(['warn', text(message)]),
    error: (message) => run.log.push(['error', text(message)]),
    log: (message) => run.log.push(['info', text(message)]),
    addErrorMessage: (message) => run.errors.push(text(message)),
    addInfoMessage: (message) => run.info.push(text(message)),
  };
}

// --- GlideDateTime (UTC "YYYY-MM-DD HH:MM:SS") -------------------------------------------------------
function GlideDateTime(value) {
  if (!(this instanceof GlideDateTime)) throw new TypeError('GlideDateTime must be called with new');
  const source = value === undefined ? call('now', []) : (value instanceof GlideDateTime ? value.getValue() : String(value));
  this._ms = Date.parse(source.replace(' ', 'T') + 'Z');
  if (Number.isNaN(this._ms)) throw new Error('GlideDateTime: cannot read ' + source);
}
GlideDateTime.prototype.getValue = function () { return new Date(this._ms).toISOString().slice(0, 19).replace('T', ' '); };
GlideDateTime.prototype.toString = GlideDateTime.prototype.getValue;
GlideDateTime.prototype.getNumericValue = function () { return this._ms; };
GlideDateTime.prototype.addSeconds = function (seconds) { this._ms += Number(seconds) * 1000; };
GlideDateTime.prototype.before = function (other) { return this._ms < other._ms; };
GlideDateTime.prototype.after = function (other) { return this._ms > other._ms; };
GlideDateTime.prototype.compareTo = function (other) { return Math.sign(this._ms - other._ms); };

const GlideStringUtil = {
  base64Encode: (value) => Buffer.from(text(value), 'utf8').toString('base64'),
  base64Decode: (value) => Buffer.from(text(value), 'base64').toString('utf8'),
};

/** generateMac(key: Base64 key, algorithm, data) → Base64 MAC. */
function GlideCertificateEncryption() {
  if (!(this instanceof GlideCertificateEncryption)) throw new TypeError('GlideCertificateEncryption must be called with new');
}
GlideCertificateEncryption.prototype.generateMac = function (key, algorithm, data) {
  const digests = {HmacSHA256: 'sha256', HmacSHA1: 'sha1', HmacMD5: 'md5'};
  const digest = digests[String(algorithm)];
  if (!digest) throw new Error('generateMac: unsupported algorithm ' + algorithm);
  return crypto.createHmac(digest, Buffer.from(text(key), 'base64')).update(text(data), 'utf8').digest('base64');
};

// --- sn_ws.RESTMessageV2 ----------------------------------------------------------------------------
function RESTResponseV2(answer) { this._answer = answer; }
RESTResponseV2.prototype.getStatusCode = function () { return this._answer.status || 0; };
RESTResponseV2.prototype.getBody = function () { return text(this._answer.body); };
RESTResponseV2.prototype.haveError = function () { return !!this._answer.error || !(this._answer.status >= 200 && this._answer.status < 300); };
RESTResponseV2.prototype.getErrorMessage = function () { return text(this._answer.error); };
RESTResponseV2.prototype.getErrorCode = function () { return this._answer.error ? 1 : 0; };
RESTResponseV2.prototype.waitForResponse = function () {};

function RESTMessageV2() {
  if (!(this instanceof RESTMessageV2)) throw new TypeError('RESTMessageV2 must be called with new');
  this._request = {endpoint: '', method: 'get', headers: {}, body: '', timeout: 60000};
}
RESTMessageV2.prototype.setEndpoint = function (url) { this._request.endpoint = text(url); };
RESTMessageV2.prototype.setHttpMethod = function (method) { this._request.method = text(method).toLowerCase(); };
RESTMessageV2.prototype.setHttpTimeout = function (ms) { this._request.timeout = Number(ms); };
RESTMessageV2.prototype.setRequestHeader = function (name, value) { this._request.headers[text(name)] = text(value); };
RESTMessageV2.prototype.setRequestBody = function (body) { this._request.body = text(body); };
/** Synchronous: the answer, or status 0 with an error message when the endpoint could not be reached. */
RESTMessageV2.prototype.execute = function () { return new RESTResponseV2(call('http', [this._request, false])); };
/** Sent once in the background: no retry, no answer the script can rely on. */
RESTMessageV2.prototype.executeAsync = function () { return new RESTResponseV2(call('http', [this._request, true])); };

// --- running a script -------------------------------------------------------------------------------
const context = vm.createContext({});  // no require, process or Buffer for the scripts
const compiled = new Map();
const PARAMETERS = ['current', 'previous', 'gs', 'GlideRecord', 'GlideDateTime', 'GlideStringUtil',
                    'GlideCertificateEncryption', 'sn_ws'];

function compile(source, name) {
  let fn = compiled.get(source);
  if (!fn) {
    fn = vm.compileFunction(source, PARAMETERS, {parsingContext: context, filename: name});
    compiled.set(source, fn);
  }
  return fn;
}

function recordOf(spec) {
  if (!spec) return null;
  const record = new GlideRecord(spec.table);
  record._fields = Object.assign({}, spec.fields);
  record._previous = spec.previous ? Object.assign({}, spec.previous) : null;
  record._operation = spec.operation || null;
  record._journalChanged = spec.journal_changed || {};
  return record;
}

function runScript(message) {
  const run = {user: message.user, user_sys_id: message.user_sys_id, log: [], errors: [], info: []};
  const current = recordOf(message.current);
  const previous = message.current && message.current.previous
    ? recordOf({table: message.current.table, fields: message.current.previous}) : null;
  let error = null, value = null;
  try {
    value = compile(message.source, message.name)(current, previous, makeGs(run), GlideRecord, GlideDateTime,
      GlideStringUtil, GlideCertificateEncryption, {RESTMessageV2: RESTMessageV2});
    value = value === undefined || value === null ? null : (typeof value === 'boolean' ? value : String(value));
  } catch (e) {
    error = (e && e.name ? e.name + ': ' : '') + (e && e.message !== undefined ? e.message : String(e));
  }
  send({op: 'done', id: message.id, error: error, value: value, abort: current ? current._abort : false,
        changes: current ? current._changes : {}, errors: run.errors, info: run.info, log: run.log});
}

for (;;) {
  const message = readMessage();
  if (message.op === 'run') runScript(message);
}
