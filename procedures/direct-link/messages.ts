// PC5 one-to-one direct link signalling (TR 33.833 solution #4.1, TS 33.303 6.5.5 analogue): prosec's own,
// versioned binary format (docs/direct-link.md). Decoding validates everything at the boundary and throws
// DirectLinkMessageError; callers count the cause and drop the message.

/** Format version of every direct link signalling PDU. */
export const DIRECT_LINK_VERSION = 1;

/** Message types (one octet). */
export const DL_MSG = {
  /** Direct Communication Request (UE_1 -> UE_2), unprotected: Nonce_1, Supported_algs, key-establishment data. */
  DIRECT_COMMUNICATION_REQUEST: 1,
  /** Direct Security Mode Command (UE_2 -> UE_1), integrity protected with the new keys, never ciphered. */
  DIRECT_SECURITY_MODE_COMMAND: 2,
  /** Direct Security Mode Complete (UE_1 -> UE_2), protected with the new keys. */
  DIRECT_SECURITY_MODE_COMPLETE: 3,
  /** Direct Security Mode Reject (either way), unprotected: a cause. */
  DIRECT_SECURITY_MODE_REJECT: 4,
  /** Direct Rekeying Request (either UE), protected with the current keys: fresh Nonce_1, Supported_algs. */
  DIRECT_REKEYING_REQUEST: 5,
  /** Direct Communication Release (either UE), protected with the current keys. */
  DIRECT_COMMUNICATION_RELEASE: 6,
} as const;
export type DlMsgType = (typeof DL_MSG)[keyof typeof DL_MSG];
const MSG_TYPES = new Set<number>(Object.values(DL_MSG));

/** Information element types (TLV: type 1 octet, length 2 octets, value). */
export const DL_IE = {
  NONCE_1: 0x01,
  NONCE_2: 0x02,
  /** Supported_algs: octet 0 = 128-NEA bitmap, octet 1 = 128-NIA bitmap (bit i = algorithm i). */
  SUPPORTED_ALGS: 0x03,
  /** Chosen_algs: octet 0 = 128-NEA id, octet 1 = 128-NIA id. */
  CHOSEN_ALGS: 0x04,
  /** Echoed Supported_algs (DSMC), compared by UE_1 with what it sent (bidding-down protection). */
  ECHOED_SUPPORTED_ALGS: 0x05,
  /** Security policy bitmap: bit 0 signalling ciphering, bit 1 user-plane ciphering, bit 2 user-plane integrity. */
  SECURITY_POLICY: 0x06,
  ECHOED_SECURITY_POLICY: 0x07,
  /** KD method: 0 existing KD (re-use by KD ID), 1 certificate, 2 identity (MIKEY-SAKKE), 3 relay MSK. */
  KD_METHOD: 0x08,
  /** KD ID, 4 octets (names a KD both UEs hold). */
  KD_ID: 0x09,
  /** Key-establishment data of the KD method (initiator's in the DCR, responder's in the DSMC). */
  KEY_DATA: 0x0a,
  /** Target user info: the permanent identity the initiator wants to reach (UTF-8), absent when resuming. */
  TARGET: 0x0b,
  /** Cause (1 octet) of a reject or release. */
  CAUSE: 0x0c,
} as const;

export const KD_METHOD_CODES = { existing: 0, certificate: 1, identity: 2, msk: 3 } as const;
export type KdMethodName = keyof typeof KD_METHOD_CODES;
const KD_METHOD_BY_CODE = Object.fromEntries(
  Object.entries(KD_METHOD_CODES).map(([k, v]) => [v, k as KdMethodName]),
) as Record<number, KdMethodName>;

/** Which PDU protections a link applies (TR 33.833 #4.1: signalling integrity is always on). */
export interface SecurityPolicy {
  signallingCiphering: boolean;
  userPlaneCiphering: boolean;
  userPlaneIntegrity: boolean;
}

/** Algorithm bitmaps (bit i set = 128-NEAi / 128-NIAi supported). */
export interface SupportedAlgs {
  nea: number;
  nia: number;
}

export interface ChosenAlgs {
  nea: 0 | 1 | 2 | 3;
  nia: 1 | 2 | 3;
}

/** The decoded plain signalling message (what is inside the protection, if any). */
export interface DlMessage {
  type: DlMsgType;
  /** Connection identity allocated by the sender (16 bits, non-zero). */
  srcCid: number;
  nonce1?: Uint8Array;
  nonce2?: Uint8Array;
  supportedAlgs?: SupportedAlgs;
  chosenAlgs?: ChosenAlgs;
  echoedSupportedAlgs?: SupportedAlgs;
  policy?: SecurityPolicy;
  echoedPolicy?: SecurityPolicy;
  kdMethod?: KdMethodName;
  kdId?: number;
  keyData?: Uint8Array;
  target?: string;
  cause?: number;
}

/** The outer signalling PDU: version, protected flag, destination connection identity, then the body. */
export interface DlPdu {
  protected: boolean;
  /** The receiver's connection identity (0 = none yet: a new Direct Communication Request). */
  dstCid: number;
  /** Plain message bytes (unprotected) or a Pc5 protected PDU (procedures/pc5/protection.ts). */
  body: Uint8Array;
}

export class DirectLinkMessageError extends Error {
  override readonly name = 'DirectLinkMessageError';
  constructor(
    readonly code: 'malformed' | 'bad_version' | 'unknown_type' | 'missing_ie',
    message: string,
  ) {
    super(message);
  }
}

const OUTER_BYTES = 3;
const FLAG_PROTECTED = 0x08;
const MAX_KEY_DATA = 4096;

export function encodePdu(pdu: DlPdu): Uint8Array {
  const out = new Uint8Array(OUTER_BYTES + pdu.body.length);
  out[0] = (DIRECT_LINK_VERSION << 4) | (pdu.protected ? FLAG_PROTECTED : 0);
  out[1] = pdu.dstCid >>> 8;
  out[2] = pdu.dstCid & 0xff;
  out.set(pdu.body, OUTER_BYTES);
  return out;
}

export function decodePdu(bytes: Uint8Array): DlPdu {
  if (bytes.length < OUTER_BYTES + 3) throw new DirectLinkMessageError('malformed', 'PDU too short');
  if (bytes[0]! >> 4 !== DIRECT_LINK_VERSION)
    throw new DirectLinkMessageError('bad_version', `version ${bytes[0]! >> 4}`);
  if ((bytes[0]! & 0x0f & ~FLAG_PROTECTED) !== 0)
    throw new DirectLinkMessageError('malformed', 'reserved flag bits set');
  return {
    protected: (bytes[0]! & FLAG_PROTECTED) !== 0,
    dstCid: (bytes[1]! << 8) | bytes[2]!,
    body: bytes.subarray(OUTER_BYTES),
  };
}

function policyOctet(p: SecurityPolicy): number {
  return (p.signallingCiphering ? 1 : 0) | (p.userPlaneCiphering ? 2 : 0) | (p.userPlaneIntegrity ? 4 : 0);
}
function policyFrom(o: number): SecurityPolicy {
  if (o & ~7) throw new DirectLinkMessageError('malformed', 'reserved security policy bits set');
  return { signallingCiphering: !!(o & 1), userPlaneCiphering: !!(o & 2), userPlaneIntegrity: !!(o & 4) };
}
function algsFrom(v: Uint8Array): SupportedAlgs {
  if ((v[0]! | v[1]!) & 0xf0) throw new DirectLinkMessageError('malformed', 'unknown algorithm bits set');
  return { nea: v[0]!, nia: v[1]! };
}

export function encodeMessage(m: DlMessage): Uint8Array {
  const ies: [number, Uint8Array][] = [];
  const add = (t: number, v: Uint8Array | undefined) => {
    if (v !== undefined) ies.push([t, v]);
  };
  add(DL_IE.NONCE_1, m.nonce1);
  add(DL_IE.NONCE_2, m.nonce2);
  if (m.supportedAlgs) add(DL_IE.SUPPORTED_ALGS, Uint8Array.of(m.supportedAlgs.nea, m.supportedAlgs.nia));
  if (m.chosenAlgs) add(DL_IE.CHOSEN_ALGS, Uint8Array.of(m.chosenAlgs.nea, m.chosenAlgs.nia));
  if (m.echoedSupportedAlgs)
    add(DL_IE.ECHOED_SUPPORTED_ALGS, Uint8Array.of(m.echoedSupportedAlgs.nea, m.echoedSupportedAlgs.nia));
  if (m.policy) add(DL_IE.SECURITY_POLICY, Uint8Array.of(policyOctet(m.policy)));
  if (m.echoedPolicy) add(DL_IE.ECHOED_SECURITY_POLICY, Uint8Array.of(policyOctet(m.echoedPolicy)));
  if (m.kdMethod !== undefined) add(DL_IE.KD_METHOD, Uint8Array.of(KD_METHOD_CODES[m.kdMethod]));
  if (m.kdId !== undefined) {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, m.kdId);
    add(DL_IE.KD_ID, b);
  }
  add(DL_IE.KEY_DATA, m.keyData);
  if (m.target !== undefined) add(DL_IE.TARGET, new TextEncoder().encode(m.target));
  if (m.cause !== undefined) add(DL_IE.CAUSE, Uint8Array.of(m.cause));
  let len = 3;
  for (const [, v] of ies) len += 3 + v.length;
  const out = new Uint8Array(len);
  out[0] = m.type;
  out[1] = m.srcCid >>> 8;
  out[2] = m.srcCid & 0xff;
  let o = 3;
  for (const [t, v] of ies) {
    out[o] = t;
    out[o + 1] = v.length >>> 8;
    out[o + 2] = v.length & 0xff;
    out.set(v, o + 3);
    o += 3 + v.length;
  }
  return out;
}

const FIXED_LENGTHS: Record<number, number> = {
  [DL_IE.NONCE_1]: 16,
  [DL_IE.NONCE_2]: 16,
  [DL_IE.SUPPORTED_ALGS]: 2,
  [DL_IE.CHOSEN_ALGS]: 2,
  [DL_IE.ECHOED_SUPPORTED_ALGS]: 2,
  [DL_IE.SECURITY_POLICY]: 1,
  [DL_IE.ECHOED_SECURITY_POLICY]: 1,
  [DL_IE.KD_METHOD]: 1,
  [DL_IE.KD_ID]: 4,
  [DL_IE.CAUSE]: 1,
};

/** IEs each message type must carry (others it may carry are ignored only if listed in OPTIONAL). */
const REQUIRED: Record<DlMsgType, number[]> = {
  1: [DL_IE.NONCE_1, DL_IE.SUPPORTED_ALGS, DL_IE.SECURITY_POLICY, DL_IE.KD_METHOD],
  2: [
    DL_IE.NONCE_2,
    DL_IE.CHOSEN_ALGS,
    DL_IE.ECHOED_SUPPORTED_ALGS,
    DL_IE.ECHOED_SECURITY_POLICY,
    DL_IE.KD_ID,
  ],
  3: [],
  4: [DL_IE.CAUSE],
  5: [DL_IE.NONCE_1, DL_IE.SUPPORTED_ALGS, DL_IE.SECURITY_POLICY],
  6: [DL_IE.CAUSE],
};
const OPTIONAL: Record<DlMsgType, number[]> = {
  1: [DL_IE.KD_ID, DL_IE.KEY_DATA, DL_IE.TARGET],
  2: [DL_IE.KEY_DATA],
  3: [],
  4: [],
  5: [DL_IE.KD_METHOD, DL_IE.KD_ID, DL_IE.KEY_DATA],
  6: [],
};

export function decodeMessage(bytes: Uint8Array): DlMessage {
  if (bytes.length < 3) throw new DirectLinkMessageError('malformed', 'message too short');
  const type = bytes[0]!;
  if (!MSG_TYPES.has(type)) throw new DirectLinkMessageError('unknown_type', `message type ${type}`);
  const t = type as DlMsgType;
  const m: DlMessage = { type: t, srcCid: (bytes[1]! << 8) | bytes[2]! };
  if (m.srcCid === 0) throw new DirectLinkMessageError('malformed', 'source connection identity 0');
  const allowed = new Set([...REQUIRED[t], ...OPTIONAL[t]]);
  const seen = new Set<number>();
  let o = 3;
  while (o < bytes.length) {
    if (o + 3 > bytes.length) throw new DirectLinkMessageError('malformed', 'truncated IE header');
    const ie = bytes[o]!;
    const len = (bytes[o + 1]! << 8) | bytes[o + 2]!;
    if (o + 3 + len > bytes.length)
      throw new DirectLinkMessageError('malformed', `IE ${ie} beyond the message`);
    const v = bytes.slice(o + 3, o + 3 + len);
    o += 3 + len;
    if (!allowed.has(ie)) throw new DirectLinkMessageError('malformed', `IE ${ie} not allowed in type ${t}`);
    if (seen.has(ie)) throw new DirectLinkMessageError('malformed', `IE ${ie} repeated`);
    seen.add(ie);
    const fixed = FIXED_LENGTHS[ie];
    if (fixed !== undefined && len !== fixed)
      throw new DirectLinkMessageError('malformed', `IE ${ie} has length ${len}, expected ${fixed}`);
    switch (ie) {
      case DL_IE.NONCE_1:
        m.nonce1 = v;
        break;
      case DL_IE.NONCE_2:
        m.nonce2 = v;
        break;
      case DL_IE.SUPPORTED_ALGS:
        m.supportedAlgs = algsFrom(v);
        break;
      case DL_IE.ECHOED_SUPPORTED_ALGS:
        m.echoedSupportedAlgs = algsFrom(v);
        break;
      case DL_IE.CHOSEN_ALGS:
        if (v[0]! > 3 || v[1]! < 1 || v[1]! > 3)
          throw new DirectLinkMessageError('malformed', 'Chosen_algs out of range (NIA0 is never allowed)');
        m.chosenAlgs = { nea: v[0] as ChosenAlgs['nea'], nia: v[1] as ChosenAlgs['nia'] };
        break;
      case DL_IE.SECURITY_POLICY:
        m.policy = policyFrom(v[0]!);
        break;
      case DL_IE.ECHOED_SECURITY_POLICY:
        m.echoedPolicy = policyFrom(v[0]!);
        break;
      case DL_IE.KD_METHOD: {
        const name = KD_METHOD_BY_CODE[v[0]!];
        if (!name) throw new DirectLinkMessageError('malformed', `KD method ${v[0]}`);
        m.kdMethod = name;
        break;
      }
      case DL_IE.KD_ID:
        m.kdId = new DataView(v.buffer).getUint32(0);
        break;
      case DL_IE.KEY_DATA:
        if (len === 0 || len > MAX_KEY_DATA)
          throw new DirectLinkMessageError('malformed', 'key-establishment data length');
        m.keyData = v;
        break;
      case DL_IE.TARGET:
        if (len === 0 || len > 128) throw new DirectLinkMessageError('malformed', 'target length');
        m.target = new TextDecoder('utf-8', { fatal: true }).decode(v);
        break;
      case DL_IE.CAUSE:
        m.cause = v[0]!;
        break;
    }
  }
  for (const ie of REQUIRED[t]) {
    if (!seen.has(ie)) throw new DirectLinkMessageError('missing_ie', `IE ${ie} missing in type ${t}`);
  }
  return m;
}

/** Length-prefixed (2 octets) fields, for the structured key-establishment data of the KD methods. */
export function packFields(...fields: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const f of fields) len += 2 + f.length;
  const out = new Uint8Array(len);
  let o = 0;
  for (const f of fields) {
    out[o] = f.length >>> 8;
    out[o + 1] = f.length & 0xff;
    out.set(f, o + 2);
    o += 2 + f.length;
  }
  return out;
}

export function unpackFields(bytes: Uint8Array, count: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let o = 0;
  for (let i = 0; i < count; i++) {
    if (o + 2 > bytes.length) throw new DirectLinkMessageError('malformed', 'truncated key data');
    const len = (bytes[o]! << 8) | bytes[o + 1]!;
    if (o + 2 + len > bytes.length) throw new DirectLinkMessageError('malformed', 'key data field too long');
    out.push(bytes.subarray(o + 2, o + 2 + len));
    o += 2 + len;
  }
  if (o !== bytes.length) throw new DirectLinkMessageError('malformed', 'trailing octets in key data');
  return out;
}
