// End-to-end: the shipped discovery scenario through the real CLI. Five UE processes register with the ProSe
// Function over PC3/TLS, announce on the PC5 discovery group (UDP multicast on loopback) and match. The test
// joins the group as an attacker: it replays a captured restricted announcement, flips a bit of its MIC, replays
// it again after two time slots (stale) and flips a bit of an open announcement's signature. The summary must
// show the Mary/John/Peter permissions before and after Mary unfriends John, and the monitors' rejections.
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { RunSummary } from '../../deploy/orchestrator.js';
import { DISCOVERY_KINDS } from '../../procedures/discovery/messages.js';
import { decodePc5Frame } from '../../transport/pc5/frame.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { readRunState, runCli, waitFor } from '../helpers/processes.js';

function logLine(runsDir: string, node: string, msg: string): Record<string, unknown> | undefined {
  for (const d of readdirSync(runsDir)) {
    const f = join(runsDir, d, 'logs', `${node}.log`);
    if (!existsSync(f)) continue;
    for (const l of readFileSync(f, 'utf8').split('\n')) {
      if (!l.includes(msg)) continue;
      try {
        return JSON.parse(l);
      } catch {
        // partial line
      }
    }
  }
  return undefined;
}

test('prosec up scenarios/discovery.yaml: permissions hold before and after a revocation; injected replays, tampering and stale announcements are rejected; PC5 source L2 IDs rotate', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'prosec-disc-'));
  const runsDir = join(dir, 'runs');
  const shipped = readFileSync(join(REPO_ROOT, 'scenarios', 'discovery.yaml'), 'utf8');
  const file = join(dir, 'discovery.yaml');
  writeFileSync(file, `${shipped}metrics: { processMetrics: false }\n`);
  const run = runCli(['up', file, '--json', '--runs-dir', runsDir]);
  let sock: Socket | undefined;
  try {
    await waitFor(
      'the run to be running',
      () => readRunState(runsDir)?.state === 'running' || undefined,
      90_000,
    );
    const john = await waitFor(
      'ue-2 to log its discovery group',
      () => logLine(runsDir, 'ue-2', 'discovery started'),
      15_000,
    );
    const group = String(john.group);
    const port = Number(john.port);
    const johnL2 = Number(john.l2Id);
    const s = createSocket({ type: 'udp4', reuseAddr: true });
    sock = s;
    // A passive observer: with L2 rotation it cannot tell whose announcement is whose, so it keeps the first
    // restricted announcement of every source L2 ID it hears (John's among them) and one open announcement.
    const captured: { restricted: Buffer[]; open?: Buffer } = { restricted: [] };
    const restrictedL2: number[] = [];
    let fromNodeL2 = 0;
    let observing = true; // until the attack starts (our own sends loop back to this socket)
    s.on('message', (msg) => {
      try {
        const f = decodePc5Frame(msg);
        if (f.type !== 'discovery_announce') return;
        if (f.srcL2Id === johnL2) fromNodeL2++;
        if (f.payload[1] === DISCOVERY_KINDS.restricted_slot && observing) {
          restrictedL2.push(f.srcL2Id);
          // The newest 12: fresh enough that John's (in its slot) is a replay, older ones stale.
          captured.restricted.push(Buffer.from(msg));
          if (captured.restricted.length > 12) captured.restricted.shift();
        }
        if (f.payload[1] === DISCOVERY_KINDS.open) captured.open = Buffer.from(msg); // the newest: fresh
      } catch {
        // not a PC5 frame
      }
    });
    await new Promise<void>((r) => s.bind(port, () => r()));
    s.addMembership(group, '127.0.0.1');
    s.setMulticastInterface('127.0.0.1');
    // 12 restricted announcements span at least 3 slots of the 4 announcing users: John's are among them. 24 heard
    // before the attack give the L2 rotation check below enough slots.
    const { restricted, open } = await waitFor(
      'restricted announcements of every announcer and an open one',
      () =>
        captured.restricted.length >= 12 && restrictedL2.length >= 24 && captured.open
          ? { restricted: captured.restricted, open: captured.open }
          : undefined,
      10_000,
    );
    const send = (b: Buffer) => new Promise<void>((r) => s.send(b, port, group, () => r()));
    const flipLast = (b: Buffer) => {
      const c = Buffer.from(b);
      c[c.length - 1]! ^= 0x01;
      return c;
    };
    // Replayed (Peter, permitted by John, rejects John's as a replay or, from an earlier slot, as stale) and with the
    // MIC tampered (bad_mic).
    observing = false;
    for (const r of restricted) await send(r);
    for (const r of restricted) await send(flipLast(r));
    // Open announcement with one bit of its nonce flipped (PC5 header 17 + version, kind, 4-octet slot): the
    // signature no longer verifies at any monitor.
    const forged = Buffer.from(open);
    forged[17 + 6]! ^= 0x01;
    await send(forged);
    await new Promise((r) => setTimeout(r, 1600)); // > 2 slots of 500 ms
    for (const r of restricted) await send(r); // recorded and replayed later: stale
    const { code } = await run.exit;
    assert.equal(code, 0, `exit code ${code}\nstderr:\n${run.stderr()}\nstdout:\n${run.stdout()}`);
    const summary = JSON.parse(run.stdout()) as RunSummary;
    assert.equal(summary.ok, true, summary.problems.join('; '));
    const d = summary.discovery!;
    const u = Object.fromEntries(d.users.map((x) => [x.aluid, x]));
    assert.deepEqual(u.john!.discoveredBefore, ['mary']);
    assert.deepEqual(u.john!.discoveredAfter, [], 'John no longer discovers Mary after the revocation');
    assert.deepEqual(u.ann!.discoveredAfter, ['mary'], 'Ann, still permitted, got the new code and key');
    assert.deepEqual(u.peter!.discoveredBefore, ['john']);
    assert.deepEqual(
      u.mary!.discoveredBefore,
      [],
      'Mary does not see Peter (nor anyone: nobody permits her)',
    );
    assert.deepEqual(u.mary!.discoveredOpen, ['ann', 'john', 'peter']);
    // Model B with the ProSe Function checking each response's MIC (match reports over PC3).
    assert.deepEqual(u.john!.discoveredModelB, ['mary']);
    assert.deepEqual(u.peter!.discoveredModelB, ['john']);
    assert.deepEqual(u.mary!.discoveredModelB, [], 'nobody permits Mary: she has no key to query with');
    assert.equal(d.impostorsRejected, 1);
    assert.ok(
      (u.peter!.rejected.replay ?? 0) + (u.peter!.rejected.stale ?? 0) >= 2,
      JSON.stringify(u.peter!.rejected),
    );
    assert.ok((u.peter!.rejected.bad_mic ?? 0) >= 1, JSON.stringify(u.peter!.rejected));
    assert.ok((u.peter!.rejected.stale ?? 0) >= 1, JSON.stringify(u.peter!.rejected));
    assert.ok(
      (d.rejected.bad_signature ?? 0) >= 3,
      JSON.stringify(d.users.map((x) => [x.aluid, x.rejected])),
    );
    assert.equal(summary.registrations.aluid_mismatch, 1);
    // L2 ID rotation: no announcement carries John's node L2 ID, and source L2 IDs of restricted announcements do not
    // repeat across slots (one restricted announcement per announcer per slot; replays excluded above by count).
    assert.equal(fromNodeL2, 0, 'announcements never use the node L2 ID');
    const heard = restrictedL2;
    assert.ok(heard.length >= 24, `restricted announcements heard: ${heard.length}`);
    assert.ok(
      new Set(heard).size >= heard.length * 0.95,
      `${new Set(heard).size} L2 IDs for ${heard.length}`,
    );
  } finally {
    sock?.close();
    if (run.child.exitCode === null) run.child.kill('SIGTERM');
    await run.exit;
  }
});
