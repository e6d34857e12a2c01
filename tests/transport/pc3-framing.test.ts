// PC3 framing: 4-octet big-endian length prefix; partial and coalesced chunks; oversize and truncation errors.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { encodeFrame, FrameDecoder, FramingError } from '../../transport/pc3/framing.js';

describe('PC3 framing', () => {
  it('encodes a 4-octet big-endian length then the body', () => {
    assert.deepEqual([...encodeFrame(Buffer.from('abc'))], [0, 0, 0, 3, 0x61, 0x62, 0x63]);
    assert.deepEqual([...encodeFrame(new Uint8Array(0))], [0, 0, 0, 0]);
    assert.throws(() => encodeFrame(new Uint8Array(11), 10), FramingError);
  });

  it('decodes byte by byte and coalesced frames', () => {
    const frames = [Buffer.from('hello'), Buffer.alloc(0), Buffer.alloc(300, 7)];
    const stream = Buffer.concat(frames.map((f) => encodeFrame(f)));
    const d1 = new FrameDecoder();
    const out1: Buffer[] = [];
    for (const b of stream) out1.push(...d1.push(Uint8Array.of(b)));
    assert.deepEqual(out1, frames);
    const d2 = new FrameDecoder();
    assert.deepEqual(d2.push(stream), frames);
    assert.equal(d2.pendingBytes, 0);
    d2.end();
  });

  it('any chunking of any frame sequence decodes to the same bodies', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 10 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 20 }),
        (bodies, cuts) => {
          const stream = Buffer.concat(bodies.map((b) => encodeFrame(b)));
          const d = new FrameDecoder(1000);
          const out: Buffer[] = [];
          let o = 0;
          let i = 0;
          while (o < stream.length) {
            const n = cuts[i++ % cuts.length]!;
            out.push(...d.push(stream.subarray(o, o + n)));
            o += n;
          }
          d.end();
          assert.deepEqual(
            out.map((b) => [...b]),
            bodies.map((b) => [...b]),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('an oversize length prefix is an error before the body arrives, and the decoder stays failed', () => {
    const d = new FrameDecoder(1024);
    assert.throws(
      () => d.push(Buffer.from([0, 0, 4, 1])),
      (e: unknown) => e instanceof FramingError && e.code === 'oversize',
    );
    assert.throws(() => d.push(encodeFrame(Buffer.from('ok'))), FramingError);
    const max = new FrameDecoder(4);
    assert.equal(max.push(encodeFrame(Buffer.from('four'))).length, 1);
  });

  it('end() inside a frame is a truncation error', () => {
    const d = new FrameDecoder();
    d.push(Buffer.from([0, 0, 0, 9, 1]));
    assert.throws(
      () => d.end(),
      (e: unknown) => e instanceof FramingError && e.code === 'truncated',
    );
    assert.throws(() => new FrameDecoder(-1), RangeError);
  });
});
