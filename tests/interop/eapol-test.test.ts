// Interop: wpa_supplicant's eapol_test (built with the USIM simulator by deploy/scripts/build-eapol-test.sh)
// authenticates with EAP-AKA' against our AAA over RADIUS on 127.0.0.1.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, fork } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { toHex } from '../../crypto-core/bytes.js';
import { EapAkaPrimeServer } from '../../procedures/eap/eap-aka-prime-server.js';
import { Hss } from '../../procedures/eap/hss.js';
import { RadiusAaa } from '../../procedures/eap/radius-aaa.js';
import { REPO_ROOT } from '../helpers/paths.js';

const BIN = process.env.PROSEC_EAPOL_TEST ?? join(homedir(), '.cache', 'prosec', 'eapol_test');
const SKIP = existsSync(BIN)
  ? false
  : `eapol_test with the USIM simulator not found at ${BIN}: run deploy/scripts/build-eapol-test.sh as root (CI does it in install-system-deps.sh)`;
if (SKIP) console.log(`# SKIP eapol_test interop: ${SKIP}`);

const IMSI = '001010000000001';
const K = '465b5ce8b199b49faa5f0a2ee238a6bc';
const OPC = 'cd63cb71954a9f4e48a5994e37a02baf';
const SECRET = 'interop-secret';
const dir = mkdtempSync(join(tmpdir(), 'prosec-eapol-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function conf(name: string, k: string, sqn: string, opc = OPC): string {
  const f = join(dir, `${name}.conf`);
  writeFileSync(
    f,
    `network={
  ssid="prosec"
  key_mgmt=WPA-EAP
  eap=AKA'
  identity="6${IMSI}@wlan.mnc001.mcc001.3gppnetwork.org"
  password="${k}:${opc}:${sqn}"
}
`,
  );
  return f;
}

function eapolTest(confFile: string, port: number, secret = SECRET, timeoutS = 5, extra: string[] = []) {
  return new Promise<{ code: number; out: string }>((resolve) => {
    execFile(
      BIN,
      ['-c', confFile, '-a', '127.0.0.1', '-p', String(port), '-s', secret, '-t', String(timeoutS), ...extra],
      { timeout: (timeoutS + 5) * 1000, maxBuffer: 16 << 20 },
      (err, stdout) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout }),
    );
  });
}

/** Parses a wpa_hexdump line "<title> - hexdump(len=N): aa bb ...". */
function hexdump(out: string, title: string): string | undefined {
  const i = out.indexOf(`${title} - hexdump(len=`);
  if (i < 0) return undefined;
  const line = out.slice(i, out.indexOf('\n', i));
  return line.slice(line.indexOf('): ') + 3).replace(/ /g, '');
}

test("eapol_test EAP-AKA' against our AAA logic: SUCCESS, and the MSK it derives equals the MSK we sent", {
  skip: SKIP,
}, async () => {
  const msks: Uint8Array[] = [];
  const hss = new Hss([{ imsi: IMSI, k: K, opc: OPC, seq: 100 }]);
  // AT_ANY_ID_REQ first, as deployed servers do: exercises eapol_test's identity round and AT_CHECKCODE.
  const aaa = new RadiusAaa(
    new EapAkaPrimeServer({ networkName: 'WLAN', requestIdentity: true }, hss),
    new TextEncoder().encode(SECRET),
    { onAccept: (k) => msks.push(k.msk) },
  );
  const sock = createSocket('udp4');
  sock.on('message', (m, r) => {
    const o = aaa.handle(new Uint8Array(m), `${r.address}:${r.port}`, performance.now());
    if (o.reply) sock.send(o.reply, r.port, r.address);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  try {
    const r = await eapolTest(conf('ok', K, '000000000010'), sock.address().port);
    assert.equal(r.code, 0, r.out.slice(-3000));
    assert.match(r.out, /MPPE keys OK: 1 {2}mismatch: 0/);
    assert.match(r.out, /^SUCCESS$/m);
    assert.equal(msks.length, 1);
    const sent = toHex(msks[0]!);
    assert.equal(hexdump(r.out, "EAP-AKA': MSK"), sent, 'peer MSK = server MSK');
    const recv = hexdump(r.out, 'MS-MPPE-Recv-Key (crypt)');
    const send = hexdump(r.out, 'MS-MPPE-Send-Key (sign)');
    assert.equal(`${recv}${send}`, sent, 'MS-MPPE-Recv-Key || MS-MPPE-Send-Key = MSK');
    // eapol_test saw our AT_ANY_ID_REQ round, our AT_CHECKCODE (it fails the run on a mismatch) and the pseudonym.
    assert.match(r.out, /AT_ANY_ID_REQ/);
    assert.match(r.out, /EAP-AKA: AT_CHECKCODE/);
    assert.match(r.out, /Network Name \(AT_KDF_INPUT\)/);
    assert.match(r.out, /\(encr\) AT_NEXT_PSEUDONYM/, 'eapol_test decrypted our AT_ENCR_DATA');
    // Fast re-authentication (RFC 4187 5 / RFC 5448 3.3): one full authentication, then two re-authentications
    // (-r2) on the identity from AT_NEXT_REAUTH_ID; eapol_test checks every MSK against MS-MPPE-*-Key.
    const rr = await eapolTest(conf('reauth', K, '000000000010'), sock.address().port, SECRET, 5, ['-r2']);
    assert.equal(rr.code, 0, rr.out.slice(-3000));
    assert.match(rr.out, /MPPE keys OK: 3 {2}mismatch: 0/);
    assert.equal(rr.out.match(/EAP-AKA: subtype Reauthentication/g)?.length, 2);
    assert.match(rr.out, /\(encr\) AT_COUNTER 2/);
    const peerMsks = [...rr.out.matchAll(/EAP-AKA': MSK - hexdump\(len=64\): ([0-9a-f ]+)/g)].map((m) =>
      m[1]!.replace(/ /g, ''),
    );
    assert.deepEqual(
      peerMsks,
      msks.slice(1).map(toHex),
      'the full and both re-authentication MSKs match ours',
    );
    assert.equal(new Set(peerMsks).size, 3);
  } finally {
    sock.close();
  }
});

interface NodeHandle {
  child: ChildProcess;
  radius: number;
  metricsPort: number;
}

async function startAaaNode(): Promise<NodeHandle> {
  const config = {
    v: 1,
    runId: 'interop',
    role: 'aaa',
    id: 'aaa',
    runDir: dir,
    processMetrics: false,
    roleConfig: { secret: SECRET, networkName: 'WLAN', subscribers: [{ imsi: IMSI, k: K, opc: OPC }] },
  };
  const child = fork(join(REPO_ROOT, 'dist', 'nodes', 'main.js'), [], {
    env: { ...process.env, PROSEC_NODE_CONFIG: JSON.stringify(config) },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('aaa node not ready')), 20_000);
    child.on('message', (m: { t: string; endpoints?: Record<string, number>; metricsPort?: number }) => {
      if (m.t === 'ready') {
        clearTimeout(t);
        resolve({ child, radius: m.endpoints!.radius!, metricsPort: m.metricsPort! });
      }
    });
    child.on('exit', (c) => reject(new Error(`aaa node exited ${c}`)));
  });
}

async function metric(port: number, re: RegExp): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = text.match(re);
  return m ? Number(m[1]) : 0;
}

test('eapol_test against the aaa node process: SQN resync, wrong K, wrong OPc, wrong secret; counters say why; SQN survives a restart', {
  skip: SKIP,
}, async () => {
  const node = await startAaaNode();
  try {
    // The USIM is far ahead of SQN_HE (fresh HSS): Synchronization-Failure with AUTS, resync, success.
    const ahead = await eapolTest(conf('ahead', K, '000000100000'), node.radius);
    assert.equal(ahead.code, 0, ahead.out.slice(-3000));
    assert.match(ahead.out, /Synchronization-Failure|AUTS/i);
    assert.match(ahead.out, /^SUCCESS$/m);
    // Wrong K: eapol_test's USIM finds MAC-A wrong -> Authentication-Reject -> Access-Reject.
    const wrongK = await eapolTest(conf('wrongk', '00'.repeat(16), '000000000001'), node.radius);
    assert.notEqual(wrongK.code, 0);
    assert.doesNotMatch(wrongK.out, /^SUCCESS$/m);
    // Wrong OPc: the same outcome.
    const wrongOpc = await eapolTest(conf('wrongopc', K, '000000000001', '11'.repeat(16)), node.radius);
    assert.notEqual(wrongOpc.code, 0);
    // Wrong shared secret: our server drops every request, eapol_test times out.
    const wrongSecret = await eapolTest(conf('ok2', K, '000000000001'), node.radius, 'not-the-secret', 2);
    assert.notEqual(wrongSecret.code, 0);
    const p = node.metricsPort;
    assert.equal(
      await metric(p, /prosec_eap_auth_results_total\{result="success",cause="none",method="full"\} (\d+)/),
      1,
    );
    assert.equal(
      await metric(
        p,
        /prosec_eap_auth_results_total\{result="failure",cause="authentication_reject"\} (\d+)/,
      ),
      2,
    );
    assert.ok(
      (await metric(p, /prosec_radius_dropped_total\{reason="bad_message_authenticator"\} (\d+)/)) >= 1,
    );
  } finally {
    node.child.kill('SIGTERM');
    await new Promise((r) => node.child.once('exit', r));
  }
  // The SQN state survives a restart: SQN_HE was persisted above the USIM's (resynchronised) SEQ.
  const again = await startAaaNode();
  try {
    const r = await eapolTest(conf('after-restart', K, '000000100000'), again.radius);
    assert.equal(r.code, 0, r.out.slice(-2000));
    assert.doesNotMatch(r.out, /Synchronization-Failure/);
  } finally {
    again.child.kill('SIGTERM');
    await new Promise((r) => again.child.once('exit', r));
  }
});
