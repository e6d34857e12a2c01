// Interoperability: Wireshark's RADIUS and EAP-AKA' dissectors (tshark) decode what our AAA and peer put on the
// wire (tshark 4.0 shows but does not verify Message-Authenticator; eapol_test does, tests/interop).
// The frames are built into a pcap here (Ethernet/IPv4/UDP); no traffic is sent.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SqnArray } from '../../crypto-core/aka-sqn.js';
import { concatBytes, fromHex } from '../../crypto-core/bytes.js';
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

const PORT = 41812;
const SECRET = 'tshark-secret';
const hasTshark = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;

const u16 = (v: number) => Uint8Array.of(v >>> 8, v & 0xff);
const u32le = (v: number) => Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);

function udpFrame(payload: Uint8Array, sport: number, dport: number): Uint8Array {
  const udp = concatBytes(u16(sport), u16(dport), u16(8 + payload.length), u16(0), payload);
  const ip = concatBytes(
    Uint8Array.of(0x45, 0),
    u16(20 + udp.length),
    u16(1),
    u16(0x4000),
    Uint8Array.of(64, 17),
    u16(0),
    Uint8Array.of(127, 0, 0, 1, 127, 0, 0, 1),
  );
  let s = 0;
  for (let i = 0; i < ip.length; i += 2) s += (ip[i]! << 8) | ip[i + 1]!;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  ip[10] = (~s >>> 8) & 0xff;
  ip[11] = ~s & 0xff;
  return concatBytes(Uint8Array.of(2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1), u16(0x0800), ip, udp);
}

function pcap(frames: Uint8Array[]): Uint8Array {
  const parts = [
    concatBytes(u32le(0xa1b2c3d4), Uint8Array.of(2, 0, 4, 0), u32le(0), u32le(0), u32le(65535), u32le(1)),
  ];
  frames.forEach((f, i) => {
    parts.push(concatBytes(u32le(1_700_000_000 + i), u32le(0), u32le(f.length), u32le(f.length), f));
  });
  return concatBytes(...parts);
}

test("tshark decodes our RADIUS + EAP-AKA' exchange attribute by attribute (permanent identity, IMSI, AT_KDF_INPUT 'WLAN', MS-MPPE keys)", {
  skip: hasTshark ? false : 'tshark not installed (deploy/scripts/install-system-deps.sh)',
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
    writeFileSync(file, pcap(frames));
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
