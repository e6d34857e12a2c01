// Interoperability: Wireshark's MIKEY dissector (tshark) decodes our I_MESSAGE and PSK message from a pcap file.
// The frames are built here (libpcap header + Ethernet/IPv4/UDP); no traffic is sent.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { concatBytes, toHex } from '../../crypto-core/bytes.js';
import { generateKmsMasterKeys, issueBundle } from '../../crypto-core/kms-bundle.js';
import { KeyDataType, MacAlg, ntpFromUnixMs } from '../../crypto-core/mikey.js';
import { buildPskMessage, buildSakkeIMessage, parseSakkeIMessage } from '../../crypto-core/mikey-sakke.js';
import { eccsiSign, eccsiVerify } from '../../crypto-core/rfc6507-eccsi.js';
import { sakkeDecapsulate, sakkeEncapsulate } from '../../crypto-core/rfc6508-sakke.js';
import { identityFor } from '../../crypto-core/rfc6509-identity.js';
import { hasTshark, pcapFile, udpFrame } from '../helpers/pcap.js';

const PORT = 40269;

interface Layer {
  [k: string]: unknown;
}

/** Collects every value of `field` anywhere under a tshark JSON layer tree. */
function collect(node: unknown, field: string, out: string[] = []): string[] {
  if (Array.isArray(node)) {
    for (const x of node) collect(x, field, out);
  } else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node as Layer)) {
      if (k === field) {
        if (Array.isArray(v)) out.push(...v.map(String));
        else out.push(String(v));
      }
      collect(v, field, out);
    }
  }
  return out;
}

test('tshark decodes a real MIKEY-SAKKE I_MESSAGE (SAKKE + ECCSI) and a signed PSK message', (t) => {
  if (!hasTshark()) {
    t.skip('tshark not installed: apt-get install tshark');
    return;
  }
  // A real I_MESSAGE: SSV encapsulated with SAKKE to the responder's RFC 6509 identifier, signed with the
  // initiator's ECCSI key, both issued by a KMS generated here.
  const now = new Date();
  const kms = generateKmsMasterKeys('kms.prosec.example');
  const initiator = issueBundle(kms, identityFor('tel:+447700900123', now), now);
  const responder = issueBundle(kms, identityFor('tel:+447700900456', now), now);
  const ssv = Uint8Array.from(randomBytes(16));
  const sakkeData = sakkeEncapsulate(ssv, responder.identity, kms.Z_S); // 0x04 || x || y || H: 273 octets
  const sign = (m: Uint8Array) =>
    eccsiSign(m, initiator.identity, initiator.SSK, initiator.PVT, initiator.KPAK);
  const ts = ntpFromUnixMs(Date.UTC(2026, 10, 24, 16, 30, 0));
  const iMessage = buildSakkeIMessage({
    csbId: 0x1234abcd,
    timestamp: ts,
    rand: randomBytes(16),
    initiatorUri: 'tel:+447700900123',
    responderUri: 'tel:+447700900456',
    kmsUri: 'kms.prosec.example',
    sakkeData,
    sign,
  });
  // The responder verifies the ECCSI signature and recovers the SSV from the same bytes tshark reads.
  const parsed = parseSakkeIMessage(iMessage, (signed, sig) =>
    eccsiVerify(signed, sig, initiator.identity, kms.KPAK),
  );
  assert.deepEqual(sakkeDecapsulate(parsed.sakkeData, responder.identity, responder.RSK, kms.Z_S), ssv);
  const fakeSig = () => concatBytes(randomBytes(64), Uint8Array.of(4), randomBytes(64)); // r || s || PVT
  const psk = buildPskMessage({
    csbId: 0x20000001,
    timestamp: ts,
    rand: randomBytes(16),
    initiatorUri: 'sip:gms@prosec.example',
    responderUri: 'sip:group-7@prosec.example',
    envelopeKeyId: Uint8Array.of(0x10, 0, 0, 7),
    envelopeKey: randomBytes(32),
    keys: [
      { type: KeyDataType.TEK, key: randomBytes(16), kv: { type: 'SPI', spi: Uint8Array.of(0x20, 0, 0, 1) } },
    ],
    macAlg: MacAlg.HMAC_SHA_1_160,
    sign: fakeSig,
  });
  const dir = mkdtempSync(join(tmpdir(), 'prosec-mikey-'));
  try {
    const file = join(dir, 'mikey.pcap');
    writeFileSync(file, pcapFile([udpFrame(iMessage, 50000, PORT), udpFrame(psk, 50001, PORT)]));
    const json = execFileSync(
      'tshark',
      ['-r', file, '-d', `udp.port==${PORT},mikey`, '-T', 'json', '--no-duplicate-keys'],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 30_000,
      },
    );
    const packets = JSON.parse(json) as { _source: { layers: Layer } }[];
    assert.equal(packets.length, 2);
    const [im, pk] = packets.map((p) => p._source.layers.mikey);
    assert.ok(im && pk, 'tshark produced a mikey layer for both frames');

    // I_MESSAGE
    assert.deepEqual(collect(im, 'mikey.type'), ['26']);
    assert.deepEqual(collect(im, 'mikey.csb_id'), ['0x1234abcd']);
    assert.deepEqual(collect(im, 'mikey.prf_func'), ['1']);
    assert.deepEqual(collect(im, 'mikey.sakke.params'), ['1']);
    assert.deepEqual(collect(im, 'mikey.sakke.idscheme'), ['1']);
    assert.deepEqual(collect(im, 'mikey.sakke.len'), ['273']);
    assert.equal(collect(im, 'mikey.sakke.data')[0]?.replaceAll(':', ''), toHex(sakkeData));
    assert.deepEqual(collect(im, 'mikey.sign.type'), ['2']);
    assert.deepEqual(collect(im, 'mikey.sign.len'), ['129']);
    assert.deepEqual(collect(im, 'mikey.id.role'), ['1', '2', '6', '7']);
    assert.deepEqual(collect(im, 'mikey.id.data'), [
      'tel:+447700900123',
      'tel:+447700900456',
      'kms.prosec.example',
      'kms.prosec.example',
    ]);
    assert.deepEqual(collect(im, 'mikey.rand.len'), ['16']);
    assert.deepEqual(collect(im, 'mikey.t.ts_type'), ['0']);
    assert.match(collect(im, 'mikey.t.ntp')[0] ?? '', /Nov 24, 2026 16:30:00/);

    // PSK message with KEMAC and SIGN
    assert.deepEqual(collect(pk, 'mikey.type'), ['0']);
    assert.deepEqual(collect(pk, 'mikey.prf_func'), ['0']);
    assert.deepEqual(collect(pk, 'mikey.kemac.encr_alg'), ['1']);
    assert.deepEqual(collect(pk, 'mikey.kemac.mac_alg'), ['1']);
    assert.equal(collect(pk, 'mikey.kemac.mac')[0]?.replaceAll(':', '').length, 40);
    assert.deepEqual(collect(pk, 'mikey.id.role'), ['1', '2', '4']);
    assert.deepEqual(collect(pk, 'mikey.sign.type'), ['2']);
    assert.deepEqual(collect(pk, 'mikey.rand.len'), ['16']);
    assert.deepEqual(collect(pk, 'mikey.id.len').at(-1), '4'); // IDRpsk: the 4-octet GMK-ID (byte string)
    // Nothing malformed anywhere. (The only expert note is Wireshark showing the binary GMK-ID as a string.)
    assert.doesNotMatch(json, /_ws\.malformed/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
