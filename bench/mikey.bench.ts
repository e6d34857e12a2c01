// MIKEY codec benchmark: encode + decode of a MIKEY-SAKKE I_MESSAGE, against JSON.stringify + JSON.parse of the
// same fields (bytes as hex) as a baseline measured in the same run. Signing is a constant stub: this measures
// the wire format, not ECCSI.
import { randomBytes } from 'node:crypto';
import { toHex } from '../crypto-core/bytes.js';
import { decodeMikey, encodeMikey, ntpFromUnixMs } from '../crypto-core/mikey.js';
import { buildSakkeIMessage, parseSakkeIMessage } from '../crypto-core/mikey-sakke.js';
import { bench, report } from './harness.js';

const sig = new Uint8Array(randomBytes(129));
const fields = {
  csbId: 0x10000007,
  timestamp: ntpFromUnixMs(Date.now()),
  rand: new Uint8Array(randomBytes(16)),
  initiatorUri: 'tel:+447700900123',
  responderUri: 'tel:+447700900456',
  kmsUri: 'kms.prosec.example',
  sakkeData: new Uint8Array(randomBytes(273)),
  sign: () => sig,
};
const bytes = buildSakkeIMessage(fields);
const msg = decodeMikey(bytes);
console.log(`I_MESSAGE: ${bytes.length} octets`);

const jsonFields = {
  csbId: fields.csbId,
  timestamp: fields.timestamp.toString(),
  rand: toHex(fields.rand),
  initiatorUri: fields.initiatorUri,
  responderUri: fields.responderUri,
  initiatorKmsUri: fields.kmsUri,
  responderKmsUri: fields.kmsUri,
  sakkeParams: 1,
  idScheme: 1,
  sakkeData: toHex(fields.sakkeData),
  signType: 2,
  signature: toHex(sig),
};
let sink = 0;
const baseline = bench('JSON.stringify + JSON.parse (same fields)', () => {
  const s = JSON.stringify(jsonFields);
  sink += (JSON.parse(s) as { csbId: number }).csbId;
});
report(baseline);
report(
  bench('encodeMikey + decodeMikey (I_MESSAGE)', () => {
    sink += decodeMikey(encodeMikey(msg)).payloads.length;
  }),
  baseline,
);
report(
  bench('decodeMikey (I_MESSAGE)', () => {
    sink += decodeMikey(bytes).payloads.length;
  }),
  baseline,
);
report(
  bench('buildSakkeIMessage + parseSakkeIMessage (stub sign)', () => {
    const b = buildSakkeIMessage(fields);
    sink += parseSakkeIMessage(b, () => true).csbId;
  }),
  baseline,
);
if (sink === 0) console.log('');
