// End-to-end: the shipped direct-link scenario, shortened, through the real CLI: pairs of UE processes set up
// PC5 direct links over UDP, exchange protected data, re-key mid-stream from both sides, and release the links.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { RunSummary } from '../../deploy/orchestrator.js';
import { parsePrometheusText, sumBy } from '../../deploy/prom-text.js';
import { encodePc5Frame } from '../../transport/pc5/frame.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { isAlive, readRunState, runCli, waitFor, waitRunning } from '../helpers/processes.js';

test('prosec up scenarios/direct-link.yaml (shortened): links up, data flows through mid-stream re-keyings without loss, links released; strangers counted and dropped; the pair with a revoked certificate refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'prosec-dl-'));
  const runsDir = join(dir, 'runs');
  const shipped = readFileSync(join(REPO_ROOT, 'scenarios', 'direct-link.yaml'), 'utf8');
  const body = `${shipped
    .replace('duration: 10s', 'duration: 4s')
    .replace('ue: 8', 'ue: 4')
    .replace('rekeyEvery: 2s', 'rekeyEvery: 700ms')
    .replace('revoke: [ue-8]', 'revoke: [ue-4]')}metrics: { processMetrics: false }\n`;
  assert.notEqual(body, shipped);
  const file = join(dir, 'direct-link.yaml');
  writeFileSync(file, body);
  const run = runCli(['up', file, '--json', '--runs-dir', runsDir]);
  try {
    const state = await waitRunning(runsDir, 90_000);
    // A stranger sends direct link signalling to ue-2 (the responder of the first pair): counted, dropped.
    const ue2 = state.nodes.find((n) => n.id === 'ue-2')!;
    const sock = createSocket('udp4');
    const frame = encodePc5Frame({
      type: 'unicast_signalling',
      flags: 0,
      srcL2Id: 1,
      dstL2Id: 2,
      seq: 0,
      payload: Uint8Array.of(0x10, 0, 0, 1, 0, 1),
    });
    await new Promise((r) => sock.send(frame, ue2.endpoints.pc5!, '127.0.0.1', r));
    sock.close();
    const ue1 = state.nodes.find((n) => n.id === 'ue-1')!;
    const setups = await waitFor(
      'ue-1 to report a direct link set-up and ue-2 the stranger',
      async () => {
        const s1 = parsePrometheusText(
          await (await fetch(`http://127.0.0.1:${ue1.metricsPort}/metrics`)).text(),
        );
        const s2 = parsePrometheusText(
          await (await fetch(`http://127.0.0.1:${ue2.metricsPort}/metrics`)).text(),
        );
        const count = s1.filter(
          (x) =>
            x.name === 'prosec_key_setup_seconds_count' &&
            x.labels.procedure === 'direct_link' &&
            x.labels.method === 'certificate' &&
            x.labels.result === 'ok',
        );
        const strangers = sumBy(s2, 'prosec_direct_link_rejected_total', 'cause').unknown_peer ?? 0;
        return count.length === 1 && count[0]!.value >= 1 && strangers >= 1 ? count[0]!.value : undefined;
      },
      10_000,
    );
    assert.equal(setups, 1);
    const { code } = await run.exit;
    assert.equal(code, 0, `exit code ${code}\nstderr:\n${run.stderr()}\nstdout:\n${run.stdout()}`);
    const s = JSON.parse(run.stdout()) as RunSummary;
    assert.equal(s.ok, true, s.problems.join('; '));
    const d = s.directLinks!;
    assert.equal(d.pairs, 2);
    // (ue-1, ue-2) up; (ue-3, ue-4) refused: ue-4's certificate is on the KMS's CRL.
    assert.equal(d.linksUp, 1);
    assert.deepEqual(d.revoked, {
      ues: ['ue-4'],
      pairs: 1,
      linksUp: 0,
      refusedCertRevoked: d.rejected.cert_revoked,
    });
    assert.ok((d.rejected.cert_revoked ?? 0) >= 1, JSON.stringify(d.rejected));
    assert.ok((d.rejected.rejected_by_peer ?? 0) >= 1, 'the other side was told why');
    assert.equal(d.setupMs.certificate!.n, 1);
    assert.ok(d.setupMs.certificate!.p50 > 0);
    assert.ok(d.rekeys >= 4, `re-keys: ${d.rekeys}`);
    assert.ok(d.packetsSent > 1000, `packets sent: ${d.packetsSent}`);
    assert.equal(d.packetsLost, 0);
    assert.equal(d.packetsReceived, d.packetsSent);
    assert.equal(d.userBytes, d.packetsReceived * 1200);
    assert.ok(d.userThroughputBytesPerSecond > 0);
    assert.equal(d.integrityFailures, 0);
    assert.equal(d.released, 2, 'both ends of the link released');
    for (const n of s.nodes) assert.equal(isAlive(n.pid), false, `${n.id} survived`);
  } finally {
    // On failure: stop what this test started, by PID (the orchestrator, then any node left).
    if (run.child.exitCode === null && run.child.pid) run.child.kill('SIGKILL');
    const st = readRunState(runsDir);
    for (const n of st?.nodes ?? []) {
      if (isAlive(n.pid)) process.kill(n.pid, 'SIGKILL');
    }
  }
});
