// PC3 message schema v1: envelope and bodies validated with zod; errors carry a path and never echo input.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeMessage,
  encodeMessage,
  isPc3Type,
  makeMessage,
  PC3_BODY_SCHEMAS,
  Pc3MessageError,
} from '../../transport/pc3/messages.js';
import { exampleConfig } from './pc3-fixtures.js';

const enc = (o: unknown) => Buffer.from(JSON.stringify(o));

function decodeError(o: unknown | Buffer): Pc3MessageError {
  try {
    decodeMessage(Buffer.isBuffer(o) ? o : enc(o));
  } catch (e) {
    assert.ok(e instanceof Pc3MessageError);
    return e;
  }
  assert.fail('expected a Pc3MessageError');
}

describe('PC3 messages', () => {
  it('round-trips every documented example', () => {
    const examples = [
      makeMessage('register_request', 1, { ueId: 'ue-1', capabilities: ['discovery', 'group'] }),
      makeMessage('register_request', 2, { ueId: 'ue-1' }),
      makeMessage('register_accept', 1, { config: exampleConfig('ue-1') }),
      makeMessage('register_reject', 1, { cause: 'unknown_ue', detail: 'ue-5 is not provisioned' }),
      makeMessage('config_request', 3, {}),
      makeMessage('config_response', 3, { config: { ...exampleConfig('ue-1'), groups: [] } }),
      makeMessage('error', 0, { cause: 'malformed', detail: 'body.ueId: expected string' }),
    ];
    for (const m of examples) assert.deepEqual(decodeMessage(encodeMessage(m)), m);
    assert.ok(isPc3Type('register_request'));
    assert.ok(!isPc3Type('toString'));
    assert.ok(Object.keys(PC3_BODY_SCHEMAS).length >= 9);
  });

  it('reports invalid UTF-8 and invalid JSON without quoting the input', () => {
    assert.equal(decodeError(Buffer.from([0x7b, 0xff, 0x7d])).reason, 'not valid UTF-8');
    const e = decodeError(Buffer.from('{"token":"SECRETSECRET"'));
    assert.equal(e.code, 'malformed');
    assert.equal(e.reason, 'not valid JSON');
    assert.ok(!e.message.includes('SECRET'));
  });

  it('names the path of a schema violation', () => {
    const e = decodeError({
      v: 1,
      type: 'register_accept',
      id: 5,
      body: { config: { ...exampleConfig('ue-1'), l2Id: 2 ** 24 } },
    });
    assert.equal(e.code, 'malformed');
    assert.equal(e.path, 'body.config.l2Id');
    assert.equal(e.id, 5);
    assert.equal(e.type, 'register_accept');
    const g = decodeError({
      v: 1,
      type: 'config_response',
      id: 6,
      body: {
        config: {
          ...exampleConfig('ue-1'),
          groups: [{ groupId: 'g', multicastAddress: '10.0.0.1', port: 1, l2GroupId: 1 }],
        },
      },
    });
    assert.equal(g.path, 'body.config.groups.0.multicastAddress');
    assert.equal(decodeError({ v: 1, type: 'config_request', id: 1, body: { extra: 1 } }).path, 'body');
    // Own "__proto__" keys from JSON.parse are unknown keys like any other (strict objects, compiled or not).
    const proto = Buffer.from('{"v":1,"type":"config_request","id":1,"body":{"__proto__":{"polluted":1}}}');
    assert.equal(decodeError(proto).path, 'body');
    const nested = {
      ...exampleConfig('ue-1'),
      discovery: { multicastAddress: '239.1.0.1', port: 5000, x: 1 },
    };
    assert.equal(
      decodeError({ v: 1, type: 'register_accept', id: 1, body: { config: nested } }).path,
      'body.config.discovery',
    );
    assert.equal(({} as { polluted?: number }).polluted, undefined);
    assert.equal(
      decodeError({ v: 1, type: 'register_reject', id: 1, body: { cause: 'bogus', detail: '' } }).path,
      'body.cause',
    );
    assert.equal(
      decodeError({
        v: 1,
        type: 'register_accept',
        id: 1,
        body: { config: { ...exampleConfig('ue-1'), validUntil: 'tomorrow' } },
      }).path,
      'body.config.validUntil',
    );
  });

  it('checks the envelope: version, type, id', () => {
    assert.equal(decodeError({ v: 2, type: 'config_request', id: 1, body: {} }).code, 'unsupported_version');
    const u = decodeError({ v: 1, type: '__proto__', id: 4, body: {} });
    assert.equal(u.code, 'unknown_type');
    assert.equal(u.id, 4);
    assert.equal(decodeError({ v: 1, type: 'config_request', id: -1, body: {} }).path, 'id');
    assert.equal(decodeError({ v: 1, type: 'config_request', id: 2 ** 32, body: {} }).path, 'id');
    assert.equal(decodeError({ v: 1, type: 'config_request', id: 1.5, body: {} }).path, 'id');
    assert.equal(decodeError({ v: 1, id: 1, body: {} }).path, 'type');
    assert.equal(decodeError([1, 2]).code, 'malformed');
    assert.equal(decodeError(null).code, 'malformed');
    assert.equal(decodeError({ v: 1, type: 'config_request', id: 1, body: {}, more: 1 }).path, '');
  });

  it('does not echo rejected values (an enrollment token stays out of the error)', () => {
    const token = 'Z'.repeat(64);
    const e = decodeError({
      v: 1,
      type: 'enroll_request',
      id: 1,
      body: { nodeId: 'ue-1', role: 'ue', publicKeyPem: '-----BEGIN PUBLIC KEY-----', token },
    });
    assert.equal(e.path, 'body.token');
    assert.ok(!e.message.includes(token));
  });

  it('encodeMessage validates outgoing messages', () => {
    assert.throws(
      () => encodeMessage(makeMessage('register_request', 1, { ueId: 'has space' })),
      (e: unknown) => e instanceof Pc3MessageError && e.path === 'body.ueId',
    );
    assert.throws(() => encodeMessage(makeMessage('config_request', -3, {})), Pc3MessageError);
  });
});
