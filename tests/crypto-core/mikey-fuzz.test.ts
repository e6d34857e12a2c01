// Fuzz of the MIKEY decoder: random inputs and mutations of valid messages (bit flips, truncations, length-field
// edits, splices, insertions, deletions). Every input either decodes, and then re-encodes to the same bytes, or
// throws MikeyDecodeError with a code other than 'internal'. Seeded, bounded in count and time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  decodeKeyData,
  decodeMikey,
  encodeKeyData,
  encodeMikey,
  type KeyData,
  MikeyDecodeError,
  type MikeyMessage,
  type MikeyPayload,
} from '../../crypto-core/mikey.js';
import { buildPskMessage, buildSakkeIMessage } from '../../crypto-core/mikey-sakke.js';
import { fullMessages, SMALL } from './mikey-samples.js';

const MUTATIONS = 110_000;
const RANDOM = 20_000;
const TIME_LIMIT_MS = 60_000;

/** xorshift32, seeded: reproducible runs. */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  return {
    next,
    int: (n: number) => next() % n,
    bytes: (n: number) => Uint8Array.from({ length: n }, () => next() & 0xff),
  };
}

function corpus(r: ReturnType<typeof rng>): Uint8Array[] {
  const sign = () => r.bytes(129);
  const out = fullMessages().map((m) => encodeMikey(m));
  out.push(encodeMikey(SMALL));
  out.push(
    buildSakkeIMessage({
      csbId: 7,
      timestamp: 0xe9000000_00000000n,
      rand: r.bytes(16),
      initiatorUri: 'tel:+447700900123',
      responderUri: 'tel:+447700900456',
      kmsUri: 'kms.example',
      sakkeData: r.bytes(273),
      sign,
      extensions: [{ type: 7, data: r.bytes(20) }],
    }),
  );
  out.push(
    buildPskMessage({
      csbId: 9,
      timestamp: 0xe9000000_00000001n,
      rand: r.bytes(16),
      initiatorUri: 'sip:gms@example',
      responderUri: 'sip:group@example',
      envelopeKeyId: r.bytes(4),
      envelopeKey: r.bytes(32),
      keys: [
        {
          type: 3,
          key: r.bytes(16),
          salt: r.bytes(14),
          kv: { type: 'INTERVAL', validFrom: r.bytes(2), validTo: r.bytes(2) },
        },
      ],
      sign,
    }),
  );
  return out;
}

const BOUNDARY = [0, 1, 2, 0x7f, 0x80, 0xfe, 0xff];

function mutate(r: ReturnType<typeof rng>, seeds: Uint8Array[]): Uint8Array {
  const src = seeds[r.int(seeds.length)]!;
  const b = src.slice();
  switch (r.int(8)) {
    case 0: {
      // 1-4 bit flips
      const n = 1 + r.int(4);
      for (let i = 0; i < n; i++) b[r.int(b.length)]! ^= 1 << r.int(8);
      return b;
    }
    case 1:
      return b.subarray(0, r.int(b.length)); // truncation
    case 2: {
      // length-field style edit: a byte or a 16-bit word set to a boundary or nudged by +-1
      const i = r.int(b.length);
      if (r.int(2) === 0) b[i] = BOUNDARY[r.int(BOUNDARY.length)]!;
      else b[i] = (b[i]! + (r.int(2) ? 1 : 255)) & 0xff;
      if (r.int(2) === 0 && i + 1 < b.length) b[i + 1] = BOUNDARY[r.int(BOUNDARY.length)]!;
      return b;
    }
    case 3: {
      // splice: prefix of one message, suffix of another
      const other = seeds[r.int(seeds.length)]!;
      const cut = r.int(b.length + 1);
      const from = r.int(other.length + 1);
      const out = new Uint8Array(cut + other.length - from);
      out.set(b.subarray(0, cut));
      out.set(other.subarray(from), cut);
      return out;
    }
    case 4: {
      // insertion of random bytes
      const at = r.int(b.length + 1);
      const ins = r.bytes(1 + r.int(8));
      const out = new Uint8Array(b.length + ins.length);
      out.set(b.subarray(0, at));
      out.set(ins, at);
      out.set(b.subarray(at), at + ins.length);
      return out;
    }
    case 5: {
      // deletion
      const at = r.int(b.length);
      const end = Math.min(b.length, at + 1 + r.int(8));
      const out = new Uint8Array(b.length - (end - at));
      out.set(b.subarray(0, at));
      out.set(b.subarray(end), at);
      return out;
    }
    case 6: {
      // next-payload style edit: any byte to a payload type value
      const types = [0, 1, 2, 3, 4, 5, 6, 9, 10, 11, 12, 13, 14, 20, 21, 26, 27, 255];
      b[r.int(b.length)] = types[r.int(types.length)]!;
      return b;
    }
    default: {
      // append trailing random octets
      const out = new Uint8Array(b.length + 1 + r.int(4));
      out.set(b);
      out.set(r.bytes(out.length - b.length), b.length);
      return out;
    }
  }
}

interface Tally {
  ok: number;
  codes: Map<string, number>;
}

function check(input: Uint8Array, tally: Tally): void {
  let msg: MikeyMessage;
  try {
    msg = decodeMikey(input);
  } catch (e) {
    if (!(e instanceof MikeyDecodeError)) {
      assert.fail(`non-MikeyDecodeError ${String(e)} on ${Buffer.from(input).toString('hex')}`);
    }
    if (e.code === 'internal')
      assert.fail(`internal decoder fault ${e.message} on ${Buffer.from(input).toString('hex')}`);
    tally.codes.set(e.code, (tally.codes.get(e.code) ?? 0) + 1);
    return;
  }
  tally.ok++;
  const again = encodeMikey(msg);
  if (Buffer.compare(again, input) !== 0) {
    assert.fail(
      `not canonical: ${Buffer.from(input).toString('hex')} re-encodes to ${Buffer.from(again).toString('hex')}`,
    );
  }
  for (const p of msg.payloads) {
    if (p.kind === 'KEMAC' && p.encrAlg === 0) checkKeyData(p.encrData);
  }
}

function checkKeyData(input: Uint8Array): void {
  let keys: KeyData[];
  try {
    keys = decodeKeyData(input);
  } catch (e) {
    assert.ok(e instanceof MikeyDecodeError && e.code !== 'internal', `key data: ${String(e)}`);
    return;
  }
  assert.deepEqual(encodeKeyData(keys), input);
}

test(`MIKEY decoder fuzz: ${MUTATIONS} mutations + ${RANDOM} random inputs`, () => {
  const r = rng(0x6d696b65);
  const seeds = corpus(r);
  const tally: Tally = { ok: 0, codes: new Map() };
  const t0 = performance.now();
  let n = 0;
  for (; n < MUTATIONS; n++) {
    // Mutations of mutations now and then, to get deeper.
    let input = mutate(r, seeds);
    if (r.int(4) === 0) input = mutate(r, [input.length ? input : seeds[0]!]);
    check(input, tally);
    if ((n & 1023) === 0) assert.ok(performance.now() - t0 < TIME_LIMIT_MS, 'fuzz time limit');
  }
  for (let i = 0; i < RANDOM; i++, n++) {
    const input = r.bytes(r.int(300));
    if (input.length > 0 && r.int(2) === 0) input[0] = 1; // get past the version octet half the time
    if (input.length > 2 && r.int(2) === 0) input[2] = [0, 1, 4, 5, 6, 11, 14, 21, 26][r.int(9)]!;
    check(input, tally);
    if (r.int(8) === 0) checkKeyData(input);
  }
  // Oversized input is rejected before parsing.
  check(new Uint8Array(70_000), tally);
  const ms = performance.now() - t0;
  const codes = [...tally.codes.entries()].sort((a, b) => b[1] - a[1]);
  console.log(
    `# fuzz: ${n} inputs in ${(ms / 1000).toFixed(1)} s; ${tally.ok} decoded and re-encoded canonically; ` +
      `rejections ${codes.map(([c, k]) => `${c}=${k}`).join(' ')}`,
  );
  assert.ok(n >= 100_000);
  assert.ok(ms < TIME_LIMIT_MS, `fuzz took ${ms} ms`);
  assert.ok(tally.ok > 1000, 'some mutated inputs still decode');
  for (const code of [
    'truncated',
    'trailing',
    'unknown_payload',
    'unknown_value',
    'duplicate',
    'oversized',
  ]) {
    assert.ok(tally.codes.has(code), `fuzz reached rejection code ${code}`);
  }
});

// Structured generation with fast-check: any representable message round-trips.
const NP = { noNullPrototype: true } as const;
const u8 = fc.integer({ min: 0, max: 255 });
const bytes = (max: number) => fc.uint8Array({ maxLength: max });
const payloadArb: fc.Arbitrary<MikeyPayload> = fc.oneof(
  fc.record(
    {
      kind: fc.constant('T' as const),
      tsType: fc.constant(0 as const),
      value: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    },
    NP,
  ),
  fc.record(
    {
      kind: fc.constant('T' as const),
      tsType: fc.constant(2 as const),
      value: fc.bigInt({ min: 0n, max: 0xffffffffn }),
    },
    NP,
  ),
  fc.record({ kind: fc.constant('RAND' as const), rand: bytes(255) }, NP),
  fc.record(
    {
      kind: fc.constant('ID' as const),
      idType: fc.constantFrom(0 as const, 1 as const, 2 as const),
      id: bytes(64),
    },
    NP,
  ),
  fc.record(
    {
      kind: fc.constant('KEMAC' as const),
      encrAlg: fc.constantFrom(0 as const, 1 as const, 2 as const),
      encrData: bytes(100),
      macAlg: fc.constant(1 as const),
      mac: fc.uint8Array({ minLength: 20, maxLength: 20 }),
    },
    NP,
  ),
  fc.record(
    {
      kind: fc.constant('SP' as const),
      policyNo: u8,
      protType: fc.constant(0),
      params: fc.array(fc.record({ type: u8, value: bytes(20) }, NP), { maxLength: 4 }),
    },
    NP,
  ),
  fc.record({ kind: fc.constant('ERR' as const), errNo: fc.integer({ min: 0, max: 12 }) }, NP),
  fc.record({ kind: fc.constant('GENERAL_EXT' as const), extType: u8, data: bytes(50) }, NP),
);

test('fast-check: generated messages (any order, SIGN last) round-trip through encode/decode', () => {
  fc.assert(
    fc.property(
      fc.record(
        {
          dataType: fc.constantFrom(0, 1, 6, 26),
          v: fc.boolean(),
          prfFunc: fc.constantFrom(0 as const, 1 as const),
          csbId: fc.integer({ min: 0, max: 0xffffffff }),
        },
        NP,
      ),
      fc.array(payloadArb, { maxLength: 6 }),
      fc.uniqueArray(fc.constantFrom(1, 2, 3, 4, 5, 6, 7), { maxLength: 3 }),
      fc.option(bytes(200)),
      (h, ps, roles, sig) => {
        // At most one T / RAND / KEMAC.
        const seen = new Set<string>();
        const payloads: MikeyPayload[] = ps.filter((p) => {
          if (!['T', 'RAND', 'KEMAC'].includes(p.kind)) return true;
          if (seen.has(p.kind)) return false;
          seen.add(p.kind);
          return true;
        });
        for (const role of roles) {
          payloads.push({
            kind: 'IDR',
            role: role as 1,
            idType: 1,
            id: new TextEncoder().encode(`tel:+${role}`),
          });
        }
        if (sig) payloads.push({ kind: 'SIGN', sType: 2, signature: sig });
        const msg: MikeyMessage = { header: { ...h, csIdMap: { type: 'EMPTY', csCount: 0 } }, payloads };
        const enc = encodeMikey(msg);
        assert.deepEqual(decodeMikey(enc), msg);
      },
    ),
    { numRuns: 2000, seed: 3830 },
  );
});
