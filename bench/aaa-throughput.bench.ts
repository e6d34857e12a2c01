// AAA throughput: full EAP-AKA' authentications per second over RADIUS on loopback against the real aaa node
// process, driven by our own load generator (C concurrent authentications, each: EAP-Response/Identity ->
// Challenge -> Response -> Accept with MS-MPPE keys checked). Same-run baselines against the same server process:
// (a) bare RADIUS round trips (Access-Request without EAP -> Access-Reject: transport + Message-Authenticator only);
// (b) wpa_supplicant's eapol_test as the client (one process per authentication, E in parallel), if built.
// Every loop is bounded in count and time.
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { RadiusClient } from '../transport/radius/client.js';
import { RADIUS_ATTR } from '../transport/radius/codec.js';
import { eapPassThrough } from '../transport/radius/passthrough.js';
import { median } from './harness.js';
import { peerFor, runDir, startNode, stopNodes, subscribers } from './relay-nodes.js';

const SECONDS = Number(process.env.SECONDS ?? 4);
const MAX_AUTHS = Number(process.env.MAX_AUTHS ?? 40_000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 64);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const EAPOL_PARALLEL = Number(process.env.EAPOL_PARALLEL ?? 4);
const SECRET = 'bench-secret';
const subs = subscribers(CONCURRENCY);

async function clients(port: number, n: number): Promise<RadiusClient[]> {
  const cs = Array.from(
    { length: n },
    () =>
      new RadiusClient({ host: '127.0.0.1', port, secret: new TextEncoder().encode(SECRET), retryMs: 2000 }),
  );
  await Promise.all(cs.map((c) => c.start()));
  return cs;
}

/** Runs `op` in `conc` parallel loops for SECONDS (at most MAX_AUTHS ops); returns ops/s. */
async function load(
  conc: number,
  op: (i: number) => Promise<boolean>,
): Promise<{ rate: number; failed: number }> {
  let done = 0;
  let failed = 0;
  const t0 = performance.now();
  const end = t0 + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: conc }, async (_, i) => {
      while (performance.now() < end && done + failed < MAX_AUTHS) {
        if (await op(i).catch(() => false)) done++;
        else failed++;
      }
    }),
  );
  return { rate: done / ((performance.now() - t0) / 1000), failed };
}

function eapolOnce(port: number, conf: string): Promise<boolean> {
  return new Promise((r) =>
    execFile(
      join(homedir(), '.cache', 'prosec', 'eapol_test'),
      ['-c', conf, '-a', '127.0.0.1', '-p', String(port), '-s', SECRET, '-t', '5'],
      { timeout: 10_000, maxBuffer: 16 << 20 },
      (err) => r(!err),
    ),
  );
}

async function main() {
  const aaa = await startNode('aaa', 'aaa', {
    secret: SECRET,
    networkName: 'WLAN',
    issuePseudonyms: false,
    subscribers: subs,
  });
  const port = aaa.endpoints.radius!;
  const cs = await clients(port, 8);
  const peers = subs.map(peerFor);
  const full = (i: number) => {
    peers[i]!.reset();
    return eapPassThrough(cs[i % cs.length]!, `bench-${i}`, async (eap) => {
      const o = peers[i]!.receive(eap);
      return o.kind === 'response' ? o.packet : undefined;
    }).then((r) => r.result === 'accept' && r.msk.length === 64);
  };
  const bare = (i: number) =>
    cs[i % cs.length]!.request([{ type: RADIUS_ATTR.USER_NAME, value: new TextEncoder().encode('x') }]).then(
      (a) => a.kind === 'reject',
    );
  await load(CONCURRENCY, full); // warm-up
  const fullRates: number[] = [];
  const bareRates: number[] = [];
  let failures = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const b = await load(CONCURRENCY, bare);
    const f = await load(CONCURRENCY, full);
    bareRates.push(b.rate);
    fullRates.push(f.rate);
    failures += f.failed;
  }
  console.log(
    `AAA (aaa node process) on loopback, ${CONCURRENCY} concurrent clients, medians of ${ROUNDS} interleaved ${SECONDS}-s rounds`,
  );
  const bm = median(bareRates);
  const fm = median(fullRates);
  console.log(`baseline bare RADIUS round trips (no EAP):       ${bm.toFixed(0)} /s`);
  console.log(
    `full EAP-AKA' authentications (2 round trips):   ${fm.toFixed(0)} /s  ratio ${(fm / bm).toFixed(3)} vs bare RADIUS  (failed: ${failures})`,
  );

  const bin = join(homedir(), '.cache', 'prosec', 'eapol_test');
  if (existsSync(bin)) {
    const confs = subs.slice(0, EAPOL_PARALLEL).map((s, i) => {
      const f = join(runDir, `eapol-${i}.conf`);
      writeFileSync(
        f,
        `network={\n key_mgmt=WPA-EAP\n eap=AKA'\n identity="6${s.imsi}@wlan.mnc001.mcc001.3gppnetwork.org"\n password="${s.k}:${s.opc}:000000000000"\n}\n`,
      );
      return f;
    });
    const e = await load(EAPOL_PARALLEL, (i) => eapolOnce(port, confs[i]!));
    console.log(
      `eapol_test clients (${EAPOL_PARALLEL} parallel, one process per auth): ${e.rate.toFixed(1)} /s  (failed ${e.failed}); ratio ${(fm / e.rate).toFixed(1)}x for our load generator`,
    );
  } else {
    console.log(
      'eapol_test not built (deploy/scripts/build-eapol-test.sh): eapol_test client comparison skipped',
    );
  }
  for (const c of cs) await c.close();
}

main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => stopNodes());
