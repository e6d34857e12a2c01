// PC5 frame codec (docs/frames.md): layout, every error reason, and properties.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  decodePc5Frame,
  encodePc5Frame,
  encodePc5FrameInto,
  PC5_DECODE_ERROR_REASONS,
  PC5_FRAME_TYPES,
  PC5_HEADER_SIZE,
  PC5_MAX_FRAME_SIZE,
  PC5_MAX_PAYLOAD,
  type Pc5Frame,
  Pc5FrameError,
  type Pc5FrameErrorReason,
  type Pc5FrameType,
} from '../../transport/pc5/frame.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

const sample: Pc5Frame = {
  type: 'group_media',
  flags: 0x01,
  srcL2Id: 0x123456,
  dstL2Id: 0xabcdef,
  seq: 0xdeadbeef,
  payload: new Uint8Array([0xca, 0xfe]),
};

test('encodes the documented byte layout', () => {
  const b = encodePc5Frame(sample);
  assert.equal(b.length, PC5_HEADER_SIZE + 2);
  //               magic  ver type flg src    dst    seq      len  payload
  assert.equal(hex(b), '5035' + '01' + '21' + '01' + '123456' + 'abcdef' + 'deadbeef' + '0002' + 'cafe');
  assert.deepEqual(decodePc5Frame(b), sample);
});

test('frame type codes are unique and fit one octet', () => {
  const codes = Object.values(PC5_FRAME_TYPES);
  assert.equal(new Set(codes).size, codes.length);
  for (const c of codes) assert.ok(c > 0 && c < 256);
});

function reasonOf(f: () => unknown): Pc5FrameErrorReason {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof Pc5FrameError, `expected Pc5FrameError, got ${e}`);
    return e.reason;
  }
  assert.fail('did not throw');
}

test('decode raises each documented reason', () => {
  const good = encodePc5Frame(sample);
  const mut = (i: number, v: number): Uint8Array => {
    const b = Uint8Array.from(good);
    b[i] = v;
    return b;
  };
  assert.equal(
    reasonOf(() => decodePc5Frame(new Uint8Array(0))),
    'too_short',
  );
  assert.equal(
    reasonOf(() => decodePc5Frame(good.subarray(0, PC5_HEADER_SIZE - 1))),
    'too_short',
  );
  assert.equal(
    reasonOf(() => decodePc5Frame(mut(0, 0x00))),
    'bad_magic',
  );
  assert.equal(
    reasonOf(() => decodePc5Frame(mut(1, 0x36))),
    'bad_magic',
  );
  assert.equal(
    reasonOf(() => decodePc5Frame(mut(2, 0))),
    'bad_version',
  );
  assert.equal(
    reasonOf(() => decodePc5Frame(mut(2, 2))),
    'bad_version',
  );
  assert.equal(
    reasonOf(() => decodePc5Frame(mut(3, 0x00))),
    'unknown_type',
  );
  assert.equal(
    reasonOf(() => decodePc5Frame(mut(3, 0xff))),
    'unknown_type',
  );
  assert.equal(
    reasonOf(() => decodePc5Frame(mut(16, 3))),
    'bad_length',
  ); // says 3, carries 2
  assert.equal(
    reasonOf(() => decodePc5Frame(mut(16, 1))),
    'bad_length',
  ); // trailing octet
  assert.equal(
    reasonOf(() => decodePc5Frame(good.subarray(0, good.length - 1))),
    'bad_length',
  );
  const big = new Uint8Array(PC5_MAX_FRAME_SIZE + 1);
  big.set(good.subarray(0, PC5_HEADER_SIZE));
  assert.equal(
    reasonOf(() => decodePc5Frame(big)),
    'too_large',
  );
  // The decode reasons are exactly the documented six.
  assert.deepEqual([...PC5_DECODE_ERROR_REASONS].sort(), [
    'bad_length',
    'bad_magic',
    'bad_version',
    'too_large',
    'too_short',
    'unknown_type',
  ]);
});

test('a maximum-size frame round-trips; one octet more is refused', () => {
  const f: Pc5Frame = { ...sample, payload: new Uint8Array(PC5_MAX_PAYLOAD).fill(7) };
  const b = encodePc5Frame(f);
  assert.equal(b.length, PC5_MAX_FRAME_SIZE);
  assert.deepEqual(decodePc5Frame(b), f);
  assert.equal(
    reasonOf(() => encodePc5Frame({ ...f, payload: new Uint8Array(PC5_MAX_PAYLOAD + 1) })),
    'too_large',
  );
});

test('encode validates its input', () => {
  assert.equal(
    reasonOf(() => encodePc5Frame({ ...sample, type: 'nope' as Pc5FrameType })),
    'unknown_type',
  );
  assert.equal(
    reasonOf(() => encodePc5Frame({ ...sample, type: 'toString' as Pc5FrameType })),
    'unknown_type',
  );
  assert.equal(
    reasonOf(() => encodePc5Frame({ ...sample, srcL2Id: 0x1000000 })),
    'bad_field',
  );
  assert.equal(
    reasonOf(() => encodePc5Frame({ ...sample, dstL2Id: -1 })),
    'bad_field',
  );
  assert.equal(
    reasonOf(() => encodePc5Frame({ ...sample, seq: 2 ** 32 })),
    'bad_field',
  );
  assert.equal(
    reasonOf(() => encodePc5Frame({ ...sample, seq: 1.5 })),
    'bad_field',
  );
  assert.equal(
    reasonOf(() => encodePc5Frame({ ...sample, flags: 256 })),
    'bad_field',
  );
  assert.equal(
    reasonOf(() => encodePc5Frame({ ...sample, payload: [1, 2] as unknown as Uint8Array })),
    'bad_field',
  );
});

test('encodePc5FrameInto writes the same octets in place and refuses a target too small', () => {
  const target = new Uint8Array(64).fill(0xee);
  const n = encodePc5FrameInto(sample, target, 5);
  assert.equal(n, PC5_HEADER_SIZE + 2);
  assert.equal(hex(target.subarray(5, 5 + n)), hex(encodePc5Frame(sample)));
  assert.equal(target[4], 0xee);
  assert.equal(target[5 + n], 0xee);
  assert.equal(
    reasonOf(() => encodePc5FrameInto(sample, new Uint8Array(18))),
    'too_large',
  );
  assert.equal(
    reasonOf(() => encodePc5FrameInto(sample, target, 60)),
    'too_large',
  );
  assert.equal(
    reasonOf(() => encodePc5FrameInto({ ...sample, seq: -1 }, target)),
    'bad_field',
  );
});

test('decoding a view inside a larger buffer reads only the view', () => {
  const b = encodePc5Frame(sample);
  const big = new Uint8Array(b.length + 20).fill(0xee);
  big.set(b, 10);
  assert.deepEqual(decodePc5Frame(big.subarray(10, 10 + b.length)), sample);
});

const frameArb: fc.Arbitrary<Pc5Frame> = fc.record({
  type: fc.constantFrom(...(Object.keys(PC5_FRAME_TYPES) as Pc5FrameType[])),
  flags: fc.integer({ min: 0, max: 255 }),
  srcL2Id: fc.integer({ min: 0, max: 0xffffff }),
  dstL2Id: fc.integer({ min: 0, max: 0xffffff }),
  seq: fc.integer({ min: 0, max: 0xffffffff }),
  payload: fc.uint8Array({ maxLength: 2000 }),
});

test('property: decode(encode(f)) equals f', () => {
  fc.assert(
    fc.property(frameArb, (f) => {
      const b = encodePc5Frame(f);
      assert.equal(b.length, PC5_HEADER_SIZE + f.payload.length);
      assert.deepEqual(decodePc5Frame(b), { ...f }); // fc.record builds null-prototype objects
    }),
    { numRuns: 500 },
  );
});

test('property: random bytes never throw anything but Pc5FrameError with a decode reason', () => {
  const reasons = new Set<string>(PC5_DECODE_ERROR_REASONS);
  const check = (bytes: Uint8Array): void => {
    try {
      decodePc5Frame(bytes);
    } catch (e) {
      assert.ok(e instanceof Pc5FrameError, String(e));
      assert.ok(reasons.has(e.reason), e.reason);
    }
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), check), { numRuns: 1000 });
  // Random bytes behind a valid-looking header reach the later checks too.
  const header = fc.tuple(
    fc.integer({ min: 0, max: 255 }),
    fc.integer({ min: 0, max: 255 }),
    fc.uint8Array({ minLength: 13, maxLength: 13 }),
  );
  fc.assert(
    fc.property(header, fc.uint8Array({ maxLength: 100 }), ([ver, type, rest], tail) => {
      const b = new Uint8Array(2 + 2 + rest.length + tail.length);
      b.set([0x50, 0x35, ver % 3, type], 0);
      b.set(rest, 4);
      b.set(tail, 4 + rest.length);
      check(b);
    }),
    { numRuns: 1000 },
  );
  // Mutating one octet of a valid frame either decodes or fails with a known reason.
  fc.assert(
    fc.property(frameArb, fc.nat(), fc.integer({ min: 0, max: 255 }), (f, pos, v) => {
      const b = Uint8Array.from(encodePc5Frame(f));
      b[pos % b.length] = v;
      check(b);
    }),
    { numRuns: 500 },
  );
});
