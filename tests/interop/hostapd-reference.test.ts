// Interop, the other direction from eapol-test.test.ts: our EAP-AKA' peer (emulated USIM) and our RADIUS
// pass-through authenticator against hostapd's EAP-AKA' server (integrated RADIUS server) with hlr_auc_gw as its
// HSS/AuC, built by deploy/scripts/build-hostapd-ref.sh. hostapd derives the MSK independently and sends it in the
// MS-MPPE keys: for the full authentication and for each fast re-authentication it must equal our peer's MSK.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { referenceMissing, startReferenceAaa } from '../../bench/reference-aaa.js';
import { SqnArray } from '../../crypto-core/aka-sqn.js';
import { fromHex, toHex } from '../../crypto-core/bytes.js';
import { Milenage } from '../../crypto-core/milenage.js';
import { EapAkaPrimePeer, type PeerOutput } from '../../procedures/eap/eap-aka-prime-peer.js';
import { RadiusClient } from '../../transport/radius/client.js';
import { eapPassThrough } from '../../transport/radius/passthrough.js';

const SKIP = referenceMissing() ?? false;
if (SKIP) console.log(`# SKIP hostapd reference interop: ${SKIP}`);
const SECRET = 'hostapd-interop';
const SUB = {
  imsi: '001010000000077',
  k: '465b5ce8b199b49faa5f0a2ee238a6bc',
  opc: 'cd63cb71954a9f4e48a5994e37a02baf',
};
const dir = mkdtempSync(join(tmpdir(), 'prosec-hostapd-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test("our EAP-AKA' peer against hostapd + hlr_auc_gw: full authentication, then fast re-authentications; every MSK equals the one hostapd sends", {
  skip: SKIP,
}, async () => {
  const ref = await startReferenceAaa(dir, [SUB], SECRET);
  const client = new RadiusClient({
    host: '127.0.0.1',
    port: ref.port,
    secret: new TextEncoder().encode(SECRET),
    retryMs: 1000,
  });
  await client.start();
  try {
    const peer = new EapAkaPrimePeer({
      permanentIdentity: `6${SUB.imsi}@wlan.mnc001.mcc001.3gppnetwork.org`,
      usim: new Milenage(fromHex(SUB.k), fromHex(SUB.opc)),
      sqn: new SqnArray(),
    });
    const msks: string[] = [];
    for (const expected of ['full', 'reauth', 'reauth'] as const) {
      peer.reset();
      let last: PeerOutput | undefined;
      const r = await eapPassThrough(client, 'interop', async (eap) => {
        last = peer.receive(eap);
        return last.kind === 'response' ? last.packet : undefined;
      });
      assert.equal(r.result, 'accept', `${expected}: ${JSON.stringify(r)} ${peer.lastError ?? ''}`);
      assert.equal(last?.kind, 'success');
      if (r.result !== 'accept' || last?.kind !== 'success') return;
      assert.equal(last.method, expected);
      assert.equal(
        toHex(last.msk),
        toHex(r.msk),
        `${expected}: our MSK = hostapd's MS-MPPE-Recv-Key || Send-Key`,
      );
      msks.push(toHex(r.msk));
      // hostapd issued the identities our peer uses next (encrypted in AT_ENCR_DATA).
      assert.match(peer.pseudonym ?? '', /^7/);
      assert.match(peer.reauth?.id ?? '', /^8/);
    }
    assert.equal(new Set(msks).size, 3, 'every authentication has its own MSK');
    assert.equal(peer.reauth?.counter, 2, "hostapd's AT_COUNTER after two re-authentications");
  } finally {
    await client.close();
    await ref.stop();
  }
});
