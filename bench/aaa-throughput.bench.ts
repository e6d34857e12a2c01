// AAA throughput: full EAP-AKA' authentications per second over RADIUS on loopback against the real aaa node
// process, driven by our own load generator (worker threads; CONCURRENCY authentications in flight, each:
// EAP-Response/Identity -> Challenge -> Response -> Accept, MS-MPPE keys decrypted). Same-run baselines against
// the same server process: (a) bare RADIUS round trips (Access-Request without EAP -> Access-Reject: transport +
// Message-Authenticator only), same generator; (b) wpa_supplicant's eapol_test as the client (one process per
// authentication, EAPOL_PARALLEL at once), if built; (c) fast re-authentications on the same server; (d) the
// reference AAA (hostapd's RADIUS server + hlr_auc_gw, bench/reference-aaa.ts), full and fast re-authentications,
// interleaved with ours, if built. Every loop is bounded in count and time.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { median } from './harness.js';
import { referenceMissing, startReferenceAaa } from './reference-aaa.js';
import { runDir, startNode, stopNodes, subscribers } from './relay-nodes.js';

const SECONDS = Number(process.env.SECONDS ?? 4);
const MAX_AUTHS = Number(process.env.MAX_AUTHS ?? 40_000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 64);
const WORKERS = Number(process.env.WORKERS ?? 2);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const EAPOL_PARALLEL = Number(process.env.EAPOL_PARALLEL ?? 4);
const SECRET = 'bench-secret';
const subs = subscribers(CONCURRENCY);

/** Runs the load in WORKERS worker threads (CONCURRENCY/WORKERS loops each); returns total ops/s. */
async function loadInWorkers(
  mode: 'full' | 'reauth' | 'bare',
  port: number,
): Promise<{ rate: number; failed: number; reasons: Record<string, number> }> {
  const per = Math.ceil(CONCURRENCY / WORKERS);
  const results = await Promise.all(
    Array.from(
      { length: WORKERS },
      (_, w) =>
        new Promise<{ done: number; failed: number; elapsed: number; reasons: Record<string, number> }>(
          (resolve, reject) => {
            const worker = new Worker(new URL('./aaa-load-worker.js', import.meta.url), {
              workerData: {
                mode,
                port,
                secret: SECRET,
                subs: subs.slice(w * per, (w + 1) * per),
                seconds: SECONDS,
                maxOps: Math.ceil(MAX_AUTHS / WORKERS),
              },
            });
            worker.once('message', resolve);
            worker.once('error', reject);
          },
        ),
    ),
  );
  return {
    rate: results.reduce((a, r) => a + r.done / r.elapsed, 0),
    failed: results.reduce((a, r) => a + r.failed, 0),
    reasons: results.reduce<Record<string, number>>((a, r) => {
      for (const [k, v] of Object.entries(r.reasons)) a[k] = (a[k] ?? 0) + v;
      return a;
    }, {}),
  };
}

/** CPU seconds (user + system) the process has used so far (Linux /proc; clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** `conc` parallel loops of `op` for SECONDS (at most MAX_AUTHS ops); ops/s. */
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
    // Enough for every re-authentication round of the bench (each peer re-authenticates on its last identity).
    maxFastReauths: 1000,
    subscribers: subs,
  });
  const port = aaa.endpoints.radius!;
  await loadInWorkers('full', port); // warm-up
  const fullRates: number[] = [];
  const bareRates: number[] = [];
  const reauthRates: number[] = [];
  const fullPerCpuSecond: number[] = [];
  const reauthPerCpuSecond: number[] = [];
  let failures = 0;
  let reauthFailures = 0;
  const pid = aaa.child.pid!;
  for (let r = 0; r < ROUNDS; r++) {
    const b = await loadInWorkers('bare', port);
    const c0 = cpuSeconds(pid);
    const f = await loadInWorkers('full', port);
    const cpu = cpuSeconds(pid) - c0;
    const c1 = cpuSeconds(pid);
    const q = await loadInWorkers('reauth', port);
    const cpuQ = cpuSeconds(pid) - c1;
    bareRates.push(b.rate);
    fullRates.push(f.rate);
    reauthRates.push(q.rate);
    // Authentications per CPU-second of the AAA process: its capacity per core, whatever else loads the machine.
    fullPerCpuSecond.push(cpu > 0 ? (f.rate * SECONDS) / cpu : Number.NaN);
    reauthPerCpuSecond.push(cpuQ > 0 ? (q.rate * SECONDS) / cpuQ : Number.NaN);
    failures += f.failed;
    reauthFailures += q.failed;
  }
  const bm = median(bareRates);
  const fm = median(fullRates);
  console.log(
    `AAA (aaa node process) on loopback, ${CONCURRENCY} in flight from ${WORKERS} load-generator threads, medians of ${ROUNDS} interleaved ${SECONDS}-s rounds`,
  );
  console.log(`baseline bare RADIUS round trips (no EAP):      ${bm.toFixed(0)} /s`);
  console.log(
    `full EAP-AKA' authentications (2 round trips):  ${fm.toFixed(0)} /s  ratio ${(fm / bm).toFixed(3)} vs bare RADIUS (failed: ${failures})`,
  );
  console.log(
    `  all rounds: full ${fullRates.map((x) => x.toFixed(0)).join(', ')}; bare ${bareRates.map((x) => x.toFixed(0)).join(', ')}`,
  );
  console.log(
    `  AAA process CPU: ${median(fullPerCpuSecond).toFixed(0)} full authentications per CPU-second (${(1e6 / median(fullPerCpuSecond)).toFixed(0)} us of AAA CPU per authentication)`,
  );
  const qm = median(reauthRates);
  console.log(
    `fast re-authentications (1 round trip + Success, no vector): ${qm.toFixed(0)} /s  ratio ${(qm / fm).toFixed(2)} vs full (failed: ${reauthFailures}); ${median(reauthPerCpuSecond).toFixed(0)} per AAA CPU-second`,
  );
  const missing = referenceMissing();
  if (missing) console.log(`reference-server comparison skipped: ${missing}`);
  else {
    const ref = await startReferenceAaa(runDir, subs, SECRET);
    try {
      const cpuOf = (pids: number[]) => pids.reduce((a, p) => a + cpuSeconds(p), 0);
      for (const mode of ['full', 'reauth'] as const) {
        const refRates: number[] = [];
        const oursAgain: number[] = [];
        const refPerCpu: number[] = [];
        const oursPerCpu: number[] = [];
        let refFailed = 0;
        const refReasons: Record<string, number> = {};
        for (let r = 0; r < ROUNDS; r++) {
          const r0 = cpuOf(ref.pids);
          const x = await loadInWorkers(mode, ref.port);
          const rc = cpuOf(ref.pids) - r0;
          refPerCpu.push(rc > 0 ? (x.rate * SECONDS) / rc : Number.NaN);
          refRates.push(x.rate);
          refFailed += x.failed;
          for (const [k, v] of Object.entries(x.reasons)) refReasons[k] = (refReasons[k] ?? 0) + v;
          const o0 = cpuSeconds(pid);
          const y = await loadInWorkers(mode, port);
          const oc = cpuSeconds(pid) - o0;
          oursPerCpu.push(oc > 0 ? (y.rate * SECONDS) / oc : Number.NaN);
          oursAgain.push(y.rate);
        }
        const rm = median(refRates);
        const om = median(oursAgain);
        const what = mode === 'full' ? 'full authentications' : 'fast re-authentications';
        console.log(
          `reference hostapd RADIUS server + hlr_auc_gw, ${what}, same load interleaved: ${rm.toFixed(0)} /s (failed ${refFailed}); ours in the same rounds ${om.toFixed(0)} /s: ratio ours/reference ${(om / rm).toFixed(2)}`,
        );
        console.log(
          `  per server CPU-second: reference (hostapd + hlr_auc_gw) ${median(refPerCpu).toFixed(0)}, ours ${median(oursPerCpu).toFixed(0)}: ratio ${(median(oursPerCpu) / median(refPerCpu)).toFixed(2)}`,
        );
        if (refFailed) console.log(`  reference failures by reason: ${JSON.stringify(refReasons)}`);
      }
    } finally {
      await ref.stop();
    }
  }
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
      `eapol_test as client (${EAPOL_PARALLEL} parallel, one process per auth): ${e.rate.toFixed(1)} /s (failed ${e.failed}); our generator gets ${(fm / e.rate).toFixed(1)}x that from the same server`,
    );
  } else {
    console.log(
      'eapol_test not built (deploy/scripts/build-eapol-test.sh): eapol_test client comparison skipped',
    );
  }
}

main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => stopNodes());
