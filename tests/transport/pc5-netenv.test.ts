// netenv: detection, the fix message, and a multicast self-test inside a fresh network namespace.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  explainFix,
  FRESH_NETNS_SETUP,
  freshNetnsArgv,
  inspectLoopbackMulticast,
  LOOPBACK_MULTICAST_COMMANDS,
  Pc5NetEnvError,
} from '../../transport/pc5/netenv.js';
import { namespaceScriptArgv, runInNamespace } from '../helpers/netns.js';

test('inspectLoopbackMulticast reports a consistent status without changing anything', () => {
  const s = inspectLoopbackMulticast();
  assert.equal(typeof s.isRoot, 'boolean');
  assert.equal(s.ready, s.problems.length === 0);
  if (s.ready) {
    assert.ok(s.loUp && s.loMulticast && s.route239ViaLo);
    assert.ok(s.routeDev === undefined || s.routeDev === 'lo');
  }
  assert.deepEqual(inspectLoopbackMulticast(), s);
});

test('the error message says exactly what to run', () => {
  const e = new Pc5NetEnvError(['lo lacks the MULTICAST flag']);
  assert.match(e.message, /lo lacks the MULTICAST flag/);
  for (const c of LOOPBACK_MULTICAST_COMMANDS) assert.ok(e.message.includes(c), c);
  assert.match(e.message, /unshare -n/);
  assert.match(e.message, /unshare -rn/);
  assert.equal(explainFix([]).length > 0, true);
});

test('freshNetnsArgv wraps a command after preparing lo', () => {
  assert.deepEqual(freshNetnsArgv(['node', 'x.js', 'a b']), [
    'unshare',
    '-n',
    '--',
    'sh',
    '-c',
    `${FRESH_NETNS_SETUP} && exec "$@"`,
    'netns',
    'node',
    'x.js',
    'a b',
  ]);
  assert.equal(freshNetnsArgv(['true'], { unprivileged: true })[1], '-rn');
  assert.throws(() => freshNetnsArgv([]));
});

test('inside a fresh network namespace, netenv is ready and the multicast self-test passes', (t) => {
  const isRoot = process.geteuid?.() === 0;
  const script = [
    "import { inspectLoopbackMulticast, multicastSelfTest } from './dist/transport/pc5/netenv.js';",
    'const s = inspectLoopbackMulticast();',
    'const st = await multicastSelfTest();',
    'console.log(JSON.stringify({ s, st }));',
  ].join('\n');
  const argv = freshNetnsArgv([process.execPath, '--input-type=module', '-e', script], {
    unprivileged: !isRoot,
  });
  const out = runInNamespace(t, argv);
  if (!out) return;
  assert.equal(out.s.ready, true, JSON.stringify(out.s));
  assert.equal(out.s.onlyLoopback, true);
  assert.deepEqual(out.s.interfaces, ['lo']);
  assert.equal(out.st.viaInterface, true);
  assert.equal(out.st.viaRoute, true);
});

test('in a namespace without the 239/8 route, the medium refuses group use and prepare fixes it', (t) => {
  const script = [
    "import { UdpPc5Medium } from './dist/transport/pc5/udp-medium.js';",
    "import { prepareLoopbackMulticast } from './dist/transport/pc5/netenv.js';",
    'const m = new UdpPc5Medium({ l2Id: 1 });',
    'await m.start();',
    'let refused;',
    "try { await m.joinGroup({ address: '239.9.9.9', port: 40999 }); } catch (e) { refused = { code: e.code, message: e.message }; }",
    'const prep = await prepareLoopbackMulticast();',
    "await m.joinGroup({ address: '239.9.9.9', port: 40999 });",
    'await m.close();',
    'console.log(JSON.stringify({ refused, changed: prep.changed, selfTest: prep.selfTest }));',
  ].join('\n');
  const out = runInNamespace(t, namespaceScriptArgv('ip link set lo up', script));
  if (!out) return;
  assert.equal(out.refused.code, 'unsafe_multicast');
  for (const c of LOOPBACK_MULTICAST_COMMANDS) assert.ok(out.refused.message.includes(c), c);
  assert.deepEqual(out.changed, [
    'ip link set lo multicast on',
    'ip route replace 239.0.0.0/8 dev lo src 127.0.0.1',
  ]);
  assert.equal(out.selfTest.viaInterface, true);
  assert.equal(out.selfTest.viaRoute, true);
});
