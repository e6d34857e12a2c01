// PC3 framing: each message is a 4-octet big-endian length followed by that many octets of body.

/** Default largest body accepted or sent: 1 MiB. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1 << 20;
/** Octets of the length prefix. */
export const FRAME_HEADER_BYTES = 4;

/** A framing violation. The stream cannot be resynchronised: the connection must be closed. */
export class FramingError extends Error {
  override readonly name = 'FramingError';
  /** 'oversize': a length prefix above the limit; 'truncated': the stream ended inside a frame. */
  readonly code: 'oversize' | 'truncated';
  constructor(code: 'oversize' | 'truncated', message: string) {
    super(message);
    this.code = code;
  }
}

/** Frames one body: length prefix + body, as one Buffer (one write, one TLS record for small messages). */
export function encodeFrame(body: Uint8Array, maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES): Buffer {
  if (body.length > maxMessageBytes) {
    throw new FramingError(
      'oversize',
      `message of ${body.length} octets exceeds the ${maxMessageBytes}-octet limit`,
    );
  }
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.length);
  out.writeUInt32BE(body.length, 0);
  out.set(body, FRAME_HEADER_BYTES);
  return out;
}

/**
 * Streaming decoder: push() any chunking of the byte stream (partial or coalesced frames), get whole bodies.
 * An oversize length prefix throws FramingError before any of that body is buffered; after an error the decoder
 * stays failed. end() throws FramingError('truncated') if the stream stopped inside a frame.
 */
export class FrameDecoder {
  readonly maxMessageBytes: number;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private failed: FramingError | undefined;

  constructor(maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES) {
    if (!Number.isInteger(maxMessageBytes) || maxMessageBytes < 0 || maxMessageBytes > 0xffffffff) {
      throw new RangeError('maxMessageBytes must be an integer in 0..2^32-1');
    }
    this.maxMessageBytes = maxMessageBytes;
  }

  /** Octets held waiting for the rest of a frame. */
  get pendingBytes(): number {
    return this.buffered;
  }

  /** Feeds a chunk; returns the bodies it completed (possibly none). Throws FramingError on a violation. */
  push(chunk: Uint8Array): Buffer[] {
    if (this.failed) throw this.failed;
    if (chunk.length === 0) return [];
    this.chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.buffered += chunk.length;
    const out: Buffer[] = [];
    // Each iteration consumes one frame or returns; the loop is bounded by the buffered octets.
    while (this.buffered >= FRAME_HEADER_BYTES) {
      const head = this.peek(FRAME_HEADER_BYTES);
      const len = head.readUInt32BE(0);
      if (len > this.maxMessageBytes) {
        this.failed = new FramingError(
          'oversize',
          `length prefix ${len} exceeds the ${this.maxMessageBytes}-octet limit`,
        );
        this.chunks = [];
        this.buffered = 0;
        throw this.failed;
      }
      if (this.buffered < FRAME_HEADER_BYTES + len) break;
      const frame = this.take(FRAME_HEADER_BYTES + len);
      out.push(frame.subarray(FRAME_HEADER_BYTES));
    }
    return out;
  }

  /** Declares the end of the stream. */
  end(): void {
    if (this.failed) return;
    if (this.buffered > 0) {
      const n = this.buffered;
      this.chunks = [];
      this.buffered = 0;
      this.failed = new FramingError('truncated', `stream ended with ${n} octets of an incomplete frame`);
      throw this.failed;
    }
  }

  private peek(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n) return first.subarray(0, n);
    this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0]!.subarray(0, n);
  }

  private take(n: number): Buffer {
    let first = this.chunks[0]!;
    if (first.length < n) {
      this.chunks = [Buffer.concat(this.chunks)];
      first = this.chunks[0]!;
    }
    const frame = first.subarray(0, n);
    if (first.length === n) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
    this.buffered -= n;
    return frame;
  }
}
