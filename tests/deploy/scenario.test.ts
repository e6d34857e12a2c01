import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  DEFAULT_SCENARIO_FILE,
  groupMembers,
  loadScenario,
  parseDurationMs,
  ScenarioError,
  ueIds,
} from '../../deploy/scenario.js';

const dir = mkdtempSync(join(tmpdir(), 'prosec-scenario-'));
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function rejects(path: string, fieldPath: string, reason: RegExp): void {
  assert.throws(
    () => loadScenario(path),
    (e: unknown) => {
      assert.ok(e instanceof ScenarioError, `expected ScenarioError, got ${String(e)}`);
      assert.ok(e.message.includes(path), 'the error names the file');
      const issue = e.issues.find((i) => i.path === fieldPath);
      assert.ok(issue, `expected an issue at ${fieldPath}, got ${JSON.stringify(e.issues)}`);
      assert.match(issue.message, reason);
      return true;
    },
  );
}

test('the built-in default scenario loads: 20 subscribed UEs, groups resolved', () => {
  const s = loadScenario(DEFAULT_SCENARIO_FILE);
  assert.equal(s.name, 'default');
  assert.equal(s.roles.ue, 20);
  const ids = ueIds(s);
  assert.equal(ids.subscribed.length, 20);
  assert.equal(ids.subscribed[0], 'ue-1');
  const members = groupMembers(s);
  assert.equal(members.get('team-alpha')?.length, 20);
  assert.equal(members.get('command')?.length, 5);
});

test('command-line overrides are applied and validated', () => {
  const s = loadScenario(DEFAULT_SCENARIO_FILE, { ues: 100, duration: '2s' });
  assert.equal(s.roles.ue, 100);
  assert.equal(s.duration, 2000);
  assert.throws(() => loadScenario(DEFAULT_SCENARIO_FILE, { duration: 'soon' }), /duration/);
});

test('durations parse in ms, s, m, h and bare seconds', () => {
  assert.equal(parseDurationMs('500ms'), 500);
  assert.equal(parseDurationMs('30s'), 30_000);
  assert.equal(parseDurationMs('2m'), 120_000);
  assert.equal(parseDurationMs('1h'), 3_600_000);
  assert.equal(parseDurationMs(1.5), 1500);
});

test('a bad scenario is rejected with the field path and the reason', () => {
  rejects(file('neg.yaml', 'name: x\nroles: { ue: -3 }\n'), 'roles.ue', />=\s*0|too small/i);
  rejects(file('type.yaml', 'name: x\nroles: { ue: many }\n'), 'roles.ue', /number/i);
  rejects(file('unknown.yaml', 'name: x\nroles: { ue: 2 }\ncolour: blue\n'), '', /colour|unrecognized/i);
  rejects(file('dur.yaml', 'name: x\nduration: forever\nroles: { ue: 2 }\n'), 'duration', /duration like/);
  rejects(
    file('count.yaml', 'name: x\nroles: { ue: 2 }\ngroups: [ { id: g, members: { count: 5 } } ]\n'),
    'groups.0.members.count',
    /only 2 UEs/,
  );
  rejects(
    file('member.yaml', 'name: x\nroles: { ue: 2 }\ngroups: [ { id: g, members: [ue-1, ue-9] } ]\n'),
    'groups.0.members.1',
    /no UE named ue-9/,
  );
  rejects(
    file(
      'dup.yaml',
      'name: x\nroles: { ue: 2 }\ngroups: [ { id: g, members: all }, { id: g, members: all } ]\n',
    ),
    'groups.1.id',
    /duplicate/,
  );
  rejects(file('noname.yaml', 'roles: { ue: 2 }\n'), 'name', /expected string|required/i);
  const gs = (group: string) =>
    `name: x\nroles: { ue: 3 }\ngroups: [ { id: g, members: [ue-1, ue-2] } ]\ngroupSecurity: { groups: [ ${group} ] }\n`;
  rejects(
    file('creator.yaml', gs('{ group: g, solution: adhoc, creator: ue-3 }')),
    'groupSecurity.groups.0.creator',
    /ue-3 is not in g/,
  );
  rejects(
    file('rmcreator.yaml', gs('{ group: g, solution: adhoc, remove: [ { member: ue-1, after: 1s } ] }')),
    'groupSecurity.groups.0.remove.0.member',
    /cannot be removed/,
  );
  rejects(
    file('gcm.yaml', gs('{ group: g, mediaCipher: aes-128-gcm, mediaIntegrity: false }')),
    'groupSecurity.groups.0.mediaIntegrity',
    /always authenticates/,
  );
});

test('a man in the middle on a direct link needs direct links, and its attacks need it', () => {
  rejects(
    file(
      'mitm.yaml',
      'name: x\nroles: { ue: 2 }\nadversary: { attacks: [tracking], mitmDirectLink: true }\n',
    ),
    'adversary.mitmDirectLink',
    /needs directLinks/,
  );
  rejects(
    file(
      'relay-attack.yaml',
      'name: x\nroles: { ue: 2 }\ndirectLinks: { pairs: 1 }\nadversary: { attacks: [tracking, dsmc-replay] }\n',
    ),
    'adversary.attacks.1',
    /mitmDirectLink: true/,
  );
  const ok = loadScenario(
    file(
      'mitm-ok.yaml',
      'name: x\nroles: { ue: 2 }\ndirectLinks: { pairs: 1, insecure: { reuseNonce1: true } }\nadversary: { attacks: [link-downgrade], mitmDirectLink: true }\n',
    ),
  );
  assert.deepEqual(ok.directLinks?.insecure, {
    nullCipher: false,
    noEchoCheck: false,
    noTranscriptBinding: false,
    reuseNonce1: true,
  });
});

test('YAML syntax errors and missing files are reported with the file', () => {
  const p = file('syntax.yaml', 'name: x\nroles: [ue: 2\n');
  assert.throws(
    () => loadScenario(p),
    (e: unknown) => e instanceof ScenarioError && /YAML syntax/.test(e.message),
  );
  assert.throws(
    () => loadScenario(join(dir, 'missing.yaml')),
    (e: unknown) =>
      e instanceof ScenarioError && /cannot read file/.test(e.message) && e.message.includes('missing.yaml'),
  );
});
