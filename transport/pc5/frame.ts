// PC5 frame codec: prosec's own versioned framing of PC5 (UE-to-UE) traffic carried in one UDP datagram.
// Layout and rationale: docs/frames.md. Every datagram from the network goes through decodePc5Frame.

/** Two magic octets, ASCII 'P5'. */
export const PC5_MAGIC = 0x5035;
/** Frame format version written by this codec; decodePc5Frame accepts only this one. */
export const PC5_FRAME_VERSION = 1;
/** Fixed header: magic 2, version 1, type 1, flags 1, source L2 ID 3, destination L2 ID 3, seq 4, length 2. */
export const PC5_HEADER_SIZE = 17;
/** Largest frame (header + payload): 9,000 octets, the NR PDCP maximum SDU size (TS 38.323 clause 4.3.1). */
export const PC5_MAX_FRAME_SIZE = 9000;
/** Largest payload: PC5_MAX_FRAME_SIZE - PC5_HEADER_SIZE = 8,983 octets. */
export const PC5_MAX_PAYLOAD = PC5_MAX_FRAME_SIZE - PC5_HEADER_SIZE;
/** Largest Layer-2 ID: 24 bits, as ProSe source/destination Layer-2 IDs (TS 23.304 clause 5.8.2). */
export const PC5_MAX_L2_ID = 0xffffff;

/** Frame flag bits (the codec carries all 8 bits unchanged; these are the ones with a meaning so far). */
export const Pc5FrameFlags = {
  /** The payload is protected by PC5 security (ciphered and/or integrity protected). */
  PROTECTED: 0x01,
  /** The payload is ciphered (implies PROTECTED). */
  CIPHERED: 0x02,
} as const;

/** Frame types and their octet values. Unknown values are rejected with reason 'unknown_type'. */
export const PC5_FRAME_TYPES = {
  /** Discovery announcement, Model A. */
  discovery_announce: 0x01,
  /** Discovery solicitation, Model B. */
  discovery_request: 0x02,
  /** Discovery response, Model B. */
  discovery_response: 0x03,
  /** One-to-one PC5 signalling (direct link set-up, security mode, keep-alive, release). */
  unicast_signalling: 0x10,
  /** One-to-one user data over an established direct link. */
  unicast_data: 0x11,
  /** Group (one-to-many) signalling. */
  group_signalling: 0x20,
  /** Group (one-to-many) media / user data. */
  group_media: 0x21,
  /** UE-to-network / UE-to-UE relay signalling. */
  relay_signalling: 0x30,
  /** User data carried through a relay. */
  relay_data: 0x31,
  /** Test and benchmark traffic. */
  test: 0x7f,
} as const;

export type Pc5FrameType = keyof typeof PC5_FRAME_TYPES;

const TYPE_BY_CODE: (Pc5FrameType | undefined)[] = new Array(256).fill(undefined);
for (const [name, code] of Object.entries(PC5_FRAME_TYPES)) TYPE_BY_CODE[code] = name as Pc5FrameType;

/** One decoded PC5 frame. */
export interface Pc5Frame {
  type: Pc5FrameType;
  /** 8 flag bits (see Pc5FrameFlags). */
  flags: number;
  /** Source Layer-2 ID, 24 bits. */
  srcL2Id: number;
  /** Destination Layer-2 ID (unicast peer, group or broadcast), 24 bits. */
  dstL2Id: number;
  /** Sequence number, 32 bits unsigned, chosen by the sender. */
  seq: number;
  /** Payload. After decoding it is a view on the received datagram (no copy). */
  payload: Uint8Array;
}

/** Why a frame was rejected. Decoding raises only the first six; 'bad_field' is for encoder input. */
export type Pc5FrameErrorReason =
  | 'too_short'
  | 'bad_magic'
  | 'bad_version'
  | 'bad_length'
  | 'unknown_type'
  | 'too_large'
  | 'bad_field';

/** The reasons decodePc5Frame can raise (a fixed set: safe as metric label values). */
export const PC5_DECODE_ERROR_REASONS = [
  'too_short',
  'bad_magic',
  'bad_version',
  'bad_length',
  'unknown_type',
  'too_large',
] as const satisfies readonly Pc5FrameErrorReason[];

export type Pc5DecodeErrorReason = (typeof PC5_DECODE_ERROR_REASONS)[number];

/** A frame that cannot be decoded or encoded. */
export class Pc5FrameError extends Error {
  override readonly name = 'Pc5FrameError';
  readonly reason: Pc5FrameErrorReason;
  constructor(reason: Pc5FrameErrorReason, message: string) {
    super(message);
    this.reason = reason;
  }
}

function checkUint(what: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw new Pc5FrameError('bad_field', `${what} must be an integer in 0..${max}, got ${v}`);
  }
}

/** Encodes a frame into a new buffer of PC5_HEADER_SIZE + payload octets. Throws Pc5FrameError on bad input. */
export function encodePc5Frame(frame: Pc5Frame): Uint8Array {
  const n = checkFrame(frame);
  const out = Buffer.allocUnsafe(n);
  writeFrame(frame, out, 0);
  return out;
}

/**
 * Encodes a frame into `target` at `offset` (no allocation) and returns the frame's length. Throws
 * Pc5FrameError on bad input, or 'too_large' when it does not fit in the target.
 */
export function encodePc5FrameInto(frame: Pc5Frame, target: Uint8Array, offset = 0): number {
  const n = checkFrame(frame);
  if (!Number.isInteger(offset) || offset < 0 || offset + n > target.length) {
    throw new Pc5FrameError(
      'too_large',
      `a ${n}-octet frame does not fit at ${offset} in ${target.length} octets`,
    );
  }
  writeFrame(frame, target, offset);
  return n;
}

/** Validates a frame and returns its encoded length. */
function checkFrame(frame: Pc5Frame): number {
  if (!Object.hasOwn(PC5_FRAME_TYPES, frame.type)) {
    throw new Pc5FrameError('unknown_type', `unknown PC5 frame type ${String(frame.type)}`);
  }
  checkUint('flags', frame.flags, 0xff);
  checkUint('srcL2Id', frame.srcL2Id, PC5_MAX_L2_ID);
  checkUint('dstL2Id', frame.dstL2Id, PC5_MAX_L2_ID);
  checkUint('seq', frame.seq, 0xffffffff);
  const payload = frame.payload;
  if (!(payload instanceof Uint8Array)) throw new Pc5FrameError('bad_field', 'payload must be a Uint8Array');
  if (payload.length > PC5_MAX_PAYLOAD) {
    throw new Pc5FrameError('too_large', `payload of ${payload.length} octets exceeds ${PC5_MAX_PAYLOAD}`);
  }
  return PC5_HEADER_SIZE + payload.length;
}

/** Writes a checked frame (big-endian fields, docs/frames.md). */
function writeFrame(frame: Pc5Frame, out: Uint8Array, o: number): void {
  const { srcL2Id: src, dstL2Id: dst, seq, payload } = frame;
  out[o] = PC5_MAGIC >> 8;
  out[o + 1] = PC5_MAGIC & 0xff;
  out[o + 2] = PC5_FRAME_VERSION;
  out[o + 3] = PC5_FRAME_TYPES[frame.type];
  out[o + 4] = frame.flags;
  out[o + 5] = src >>> 16;
  out[o + 6] = (src >>> 8) & 0xff;
  out[o + 7] = src & 0xff;
  out[o + 8] = dst >>> 16;
  out[o + 9] = (dst >>> 8) & 0xff;
  out[o + 10] = dst & 0xff;
  out[o + 11] = seq >>> 24;
  out[o + 12] = (seq >>> 16) & 0xff;
  out[o + 13] = (seq >>> 8) & 0xff;
  out[o + 14] = seq & 0xff;
  out[o + 15] = payload.length >>> 8;
  out[o + 16] = payload.length & 0xff;
  out.set(payload, o + PC5_HEADER_SIZE);
}

/**
 * Decodes one datagram. Throws Pc5FrameError (reason among PC5_DECODE_ERROR_REASONS) and nothing else.
 * Checks in order: too_short, too_large, bad_magic, bad_version, unknown_type, bad_length (the length
 * field must match the octets that follow the header exactly).
 */
export function decodePc5Frame(bytes: Uint8Array): Pc5Frame {
  if (!(bytes instanceof Uint8Array)) throw new Pc5FrameError('too_short', 'not a byte array');
  const n = bytes.length;
  if (n < PC5_HEADER_SIZE) {
    throw new Pc5FrameError('too_short', `${n} octets is shorter than the ${PC5_HEADER_SIZE}-octet header`);
  }
  if (n > PC5_MAX_FRAME_SIZE) {
    throw new Pc5FrameError('too_large', `${n} octets exceeds the ${PC5_MAX_FRAME_SIZE}-octet maximum`);
  }
  if (bytes[0] !== PC5_MAGIC >> 8 || bytes[1] !== (PC5_MAGIC & 0xff)) {
    throw new Pc5FrameError('bad_magic', 'not a PC5 frame (magic is not "P5")');
  }
  const version = bytes[2]!;
  if (version !== PC5_FRAME_VERSION) {
    throw new Pc5FrameError('bad_version', `unsupported PC5 frame version ${version}`);
  }
  const type = TYPE_BY_CODE[bytes[3]!];
  if (type === undefined)
    throw new Pc5FrameError('unknown_type', `unknown PC5 frame type 0x${hex2(bytes[3]!)}`);
  const len = (bytes[15]! << 8) | bytes[16]!;
  if (len !== n - PC5_HEADER_SIZE) {
    throw new Pc5FrameError('bad_length', `length field ${len} but ${n - PC5_HEADER_SIZE} payload octets`);
  }
  return {
    type,
    flags: bytes[4]!,
    srcL2Id: (bytes[5]! << 16) | (bytes[6]! << 8) | bytes[7]!,
    dstL2Id: (bytes[8]! << 16) | (bytes[9]! << 8) | bytes[10]!,
    seq: ((bytes[11]! << 24) >>> 0) + ((bytes[12]! << 16) | (bytes[13]! << 8) | bytes[14]!),
    payload: new Uint8Array(bytes.buffer, bytes.byteOffset + PC5_HEADER_SIZE, len),
  };
}

function hex2(b: number): string {
  return b.toString(16).padStart(2, '0');
}
