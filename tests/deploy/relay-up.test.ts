// End-to-end: `prosec up` with a relay part: AAA, network sink, a relay and remote UEs as real processes; each
// remote UE authenticates with EAP-AKA' through the relay and passes protected user data to the network and back.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { RunSummary } from '../../deploy/orchestrator.js';
import { parsePrometheusText, sumBy } from '../../deploy/prom-text.js';
import { isAlive, runCli, waitFor, waitRunning } from '../helpers/processes.js';

const SCENARIO = `name: relay-small
duration: 6s
roles: { ue: 0 }
metrics: { processMetrics: false }
relay:
  relays: 1
  remoteUes: 4
  requestIdentity: true
  staleSqnUes: 1
  wrongKeyUes: 1
  userData: { rate: 20, payloadBytes: 100 }
`;

test('prosec up (relay): remote UEs authenticate via the relay (one after resync), the wrong-K UE is rejected, user data flows both ways, garbage is counted, nothing survives', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'prosec-relay-up-'));
  const runsDir = join(dir, 'runs');
  const file = join(dir, 'relay.yaml');
  writeFileSync(file, SCENARIO);
  const run = runCli(['up', file, '--json', '--runs-dir', runsDir], { timeoutMs: 150_000 });
  const state = await waitRunning(runsDir, 120_000);
  // Garbage at the AAA's RADIUS port and the relay's PC5 port: counted and dropped, nothing crashes.
  const aaa = state.nodes.find((n) => n.role === 'aaa')!;
  const relay = state.nodes.find((n) => n.role === 'relay')!;
  const sock = createSocket('udp4');
  // A well-formed Access-Request header without Message-Authenticator (as a wrong-secret or forged request).
  const junkRadius = Buffer.alloc(20, 1);
  junkRadius.writeUInt16BE(20, 2);
  await new Promise((r) => sock.send(Buffer.from('xx'), aaa.endpoints.radius!, '127.0.0.1', r));
  await new Promise((r) => sock.send(junkRadius, aaa.endpoints.radius!, '127.0.0.1', r));
  // A well-formed PC5 relay_data frame from an unknown remote UE.
  const frame = Buffer.from([0x50, 0x35, 1, 0x31, 0, 0, 0, 9, 0, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4]);
  frame.writeUIntBE(relay.endpoints.l2Id!, 8, 3);
  await new Promise((r) => sock.send(frame, relay.endpoints.pc5!, '127.0.0.1', r));
  sock.close();
  const scrape = async (port: number, name: string) =>
    sumBy(
      parsePrometheusText(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()),
      name,
      'reason',
    );
  const last = '';
  await waitFor(
    'the AAA and the relay to count the garbage',
    async () => {
      const a = await scrape(aaa.metricsPort, 'prosec_radius_dropped_total').catch(
        () => ({}) as Record<string, number>,
      );
      const r = await scrape(relay.metricsPort, 'prosec_relay_dropped_total').catch(
        () => ({}) as Record<string, number>,
      );
      return (a.truncated ?? 0) >= 1 && (a.bad_message_authenticator ?? 0) >= 1 && (r.no_context ?? 0) >= 1
        ? true
        : undefined;
    },
    10_000,
  ).catch((e: Error) => assert.fail(`${e.message}: ${last}`));
  const { code } = await run.exit;
  assert.equal(code, 0, `exit code ${code}\nstderr:\n${run.stderr()}\nstdout:\n${run.stdout()}`);
  const s = JSON.parse(run.stdout()) as RunSummary;
  assert.equal(s.ok, true, s.problems.join('; '));
  const r = s.relay!;
  assert.equal(r.remoteUes, 4);
  assert.equal(r.authenticated, 3);
  assert.equal(r.expectedFailures, 1);
  assert.equal(r.resynchronised, 1);
  assert.ok(r.keySetupMs.p50 !== undefined && r.keySetupMs.p50 > 0);
  assert.ok(r.userData.received > 0 && r.userData.received <= r.userData.sent);
  assert.ok(r.relayedBytes.uplink >= r.userData.received * 100);
  assert.ok(r.relayedBytes.downlink >= r.userData.received * 100);
  const aaaDetails = r.aaa as { accept: number; reject: number; rejectCauses: Record<string, number> };
  assert.equal(aaaDetails.accept, 3);
  assert.equal(aaaDetails.rejectCauses.authentication_reject, 1);
  for (const n of state.nodes) assert.equal(isAlive(n.pid), false, `${n.id} (pid ${n.pid}) survived`);
});
