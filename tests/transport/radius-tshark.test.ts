// Interoperability: Wireshark's RADIUS and EAP-AKA' dissectors (tshark) decode what our AAA and peer put on the
// wire (tshark 4.0 shows but does not verify Message-Authenticator; eapol_test does, tests/interop).
// The frames are built into a pcap here (Ethernet/IPv4/UDP); no traffic is sent.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SqnArray } from '../../crypto-core/aka-sqn.js';
import { fromHex } from '../../crypto-core/bytes.js';
import { Milenage } from '../../crypto-core/milenage.js';
import { EapAkaPrimePeer } from '../../procedures/eap/eap-aka-prime-peer.js';
import { EapAkaPrimeServer } from '../../procedures/eap/eap-aka-prime-server.js';
import { Hss } from '../../procedures/eap/hss.js';
import { RadiusAaa } from '../../procedures/eap/radius-aaa.js';
import {
  buildAccessRequest,
  decodeRadius,
  eapMessage,
  eapMessageAttributes,
  RADIUS_ATTR,
} from '../../transport/radius/codec.js';
import { hasTshark, pcapFile, udpFrame } from '../helpers/pcap.js';

const PORT = 41812;
const SECRET = 'tshark-secret';
const tsharkPresent = hasTshark();

test("tshark decodes our RADIUS + EAP-AKA' exchange attribute by attribute (permanent identity, IMSI, AT_KDF_INPUT 'WLAN', MS-MPPE keys)", {
  skip: tsharkPresent ? false : 'tshark not installed (deploy/scripts/install-system-deps.sh)',
}, () => {
  const hss = new Hss([
    {
      imsi: '001010000000001',
      k: '465b5ce8b199b49faa5f0a2ee238a6bc',
      opc: 'cd63cb71954a9f4e48a5994e37a02baf',
    },
  ]);
  const aaa = new RadiusAaa(
    new EapAkaPrimeServer({ networkName: 'WLAN', requestIdentity: true }, hss),
    new TextEncoder().encode(SECRET),
  );
  const peer = new EapAkaPrimePeer({
    permanentIdentity: '6001010000000001@wlan.mnc001.mcc001.3gppnetwork.org',
    usim: new Milenage(
      fromHex('465b5ce8b199b49faa5f0a2ee238a6bc'),
      fromHex('cd63cb71954a9f4e48a5994e37a02baf'),
    ),
    sqn: new SqnArray(),
  });
  const frames: Uint8Array[] = [];
  let up = peer.receive(Uint8Array.of(1, 0, 0, 5, 1));
  let state: Uint8Array | undefined;
  for (let id = 0; id < 5 && up.kind === 'response'; id++) {
    const attrs = [...eapMessageAttributes(up.packet)];
    if (state) attrs.push({ type: RADIUS_ATTR.STATE, value: state });
    const req = buildAccessRequest(id, attrs, new TextEncoder().encode(SECRET));
    frames.push(udpFrame(req, 40000, PORT));
    const r = aaa.handle(req, 'x', 0);
    assert.ok(r.reply);
    frames.push(udpFrame(r.reply, PORT, 40000));
    const resp = decodeRadius(r.reply);
    state = resp.attributes.find((a) => a.type === RADIUS_ATTR.STATE)?.value;
    up = peer.receive(eapMessage(resp)!);
  }
  assert.equal(up.kind, 'success');
  const dir = mkdtempSync(join(tmpdir(), 'prosec-radius-tshark-'));
  try {
    const file = join(dir, 'eap.pcap');
    writeFileSync(file, pcapFile(frames));
    const out = execFileSync(
      'tshark',
      ['-r', file, '-d', `udp.port==${PORT},radius`, '-o', `radius.shared_secret:${SECRET}`, '-V'],
      {
        encoding: 'utf8',
        maxBuffer: 32 << 20,
      },
    );
    for (const want of [
      'Access-Request',
      'Access-Challenge',
      'Access-Accept',
      'AT_ANY_ID_REQ',
      'AT_IDENTITY',
      'AT_RAND',
      'AT_AUTN',
      'AT_KDF_INPUT',
      'AT_KDF',
      'AT_CHECKCODE',
      'AT_RES',
      'AT_MAC',
      'MS-MPPE-Recv-Key',
      'MS-MPPE-Send-Key',
    ]) {
      assert.ok(out.includes(want), `tshark output lacks ${want}`);
    }
    assert.match(out, /Identity Type: EAP-AKA Prime Permanent/);
    assert.match(out, /IMSI: 001010000000001/);
    assert.match(out, /AT_KDF_INPUT \(23\)[\s\S]*?Value: 0004574c414e/, 'AT_KDF_INPUT = length 4, "WLAN"');
    if (process.env.TSHARK_DUMP) writeFileSync(process.env.TSHARK_DUMP, out);
    assert.doesNotMatch(out, /Malformed|Expert Info \(Error/i, 'tshark flags a malformed packet');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
