// Multicast never leaves through a real device: checked in a fresh network namespace that has, besides
// lo, a veth pair with the default route through it (a stand-in for eth0). We count the veth's transmitted
// packets while sending. The namespace is created by this test and has no way out of the machine.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { namespaceScriptArgv, runInNamespace } from '../helpers/netns.js';

const N = 40;

// Runs inside the namespace (cwd = repository root). Prints one JSON line.
const SCRIPT = `
import dgram from 'node:dgram';
import { execFileSync } from 'node:child_process';
import { UdpPc5Medium } from './dist/transport/pc5/udp-medium.js';
import { prepareLoopbackMulticast } from './dist/transport/pc5/netenv.js';
const N = ${N};
const group = { address: '239.42.0.1', port: 41042 };
const tx = () => JSON.parse(execFileSync('ip', ['-s', '-j', 'link', 'show', 'v0'], { encoding: 'utf8' }))[0].stats64.tx.packets;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function rawSend(setIf, ttl) {
  const s = dgram.createSocket('udp4');
  await new Promise((r) => s.bind(0, r));
  if (setIf) s.setMulticastInterface('127.0.0.1');
  s.setMulticastTTL(ttl);
  const before = tx();
  for (let i = 0; i < N; i++) await new Promise((r) => s.send(Buffer.from('x'), group.port, group.address, r));
  await sleep(50);
  s.close();
  return tx() - before;
}
async function mediumSend() {
  const m = new UdpPc5Medium({ l2Id: 7 });
  await m.start();
  let refused = null;
  try {
    m.sendToGroup(group, { type: 'test', dstL2Id: 1, payload: new Uint8Array(8) });
  } catch (e) {
    refused = e.code;
  }
  const before = tx();
  if (!refused) {
    for (let i = 0; i < N; i++) m.sendToGroup(group, { type: 'test', dstL2Id: 1, payload: new Uint8Array(8) });
    await m.drain();
    await sleep(50);
  }
  await m.close();
  return { refused, leaked: tx() - before };
}
const out = {};
out.controlNoIfTtl0 = await rawSend(false, 0);   // no interface, route via veth: leaves (the control)
out.rawIfLo = await rawSend(true, 0);             // interface lo: stays
out.mediumNoRoute = await mediumSend();           // the medium refuses without the 239/8 route
out.prepared = (await prepareLoopbackMulticast()).changed;
out.rawNoIfAfterRoute = await rawSend(false, 1);  // route via lo: stays even without an interface
out.mediumAfterRoute = await mediumSend();
console.log(JSON.stringify(out));
`;

test('multicast from the medium never leaves through a non-lo device (veth with the default route)', (t) => {
  const setup = [
    'ip link set lo up',
    'ip link add v0 type veth peer name v1',
    'ip link set v0 up',
    'ip link set v1 up',
    'ip addr add 10.99.0.1/24 dev v0',
    'ip route add default via 10.99.0.254 dev v0',
  ].join(' && ');
  const out = runInNamespace(t, namespaceScriptArgv(setup, SCRIPT), {
    timeoutMs: 30_000,
    unavailable: /unshare|Operation not permitted|No such file|veth|RTNETLINK/,
    what: 'a namespace with a veth pair',
  });
  if (!out) return;
  t.diagnostic(JSON.stringify(out));
  // The control shows the method sees leaks: TTL 0 does not keep a datagram on the host.
  assert.ok(out.controlNoIfTtl0 >= N, `control: ${out.controlNoIfTtl0} packets on v0`);
  assert.ok(out.rawIfLo < N / 2, `interface lo leaked ${out.rawIfLo}`);
  assert.equal(out.mediumNoRoute.refused, 'unsafe_multicast');
  assert.equal(out.mediumNoRoute.leaked < N / 2, true);
  assert.ok(out.prepared.includes('ip route replace 239.0.0.0/8 dev lo src 127.0.0.1'));
  assert.ok(out.rawNoIfAfterRoute < N / 2, `route via lo leaked ${out.rawNoIfAfterRoute}`);
  assert.equal(out.mediumAfterRoute.refused, null);
  assert.ok(out.mediumAfterRoute.leaked < N / 2, `medium leaked ${out.mediumAfterRoute.leaked}`);
});
