// PC3 message schema, version 1 (documented in docs/pc3.md): a JSON envelope { v, type, id, body } whose body is
// validated by a per-type zod schema. To add a message type, add an entry to PC3_BODY_SCHEMAS.
import { z } from 'zod';
import { NODE_ID_PATTERN, ROLE_PATTERN } from './identity.js';

export const PC3_VERSION = 1;

const detail = z.string().max(512);
const nodeId = z.string().regex(NODE_ID_PATTERN);
/** 24-bit layer-2 identifiers (TS 23.303 ProSe Layer-2 IDs). */
const l2Id = z.number().int().min(0).max(0xffffff);
const port = z.number().int().min(1).max(65535);
const multicastAddress = z.ipv4().refine((a) => {
  const first = Number(a.split('.')[0]);
  return first >= 224 && first <= 239;
}, 'must be an IPv4 multicast address (224.0.0.0/4)');
const isoTime = z.iso.datetime({ offset: true });
const groupId = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/);
const pem = (label: string) =>
  z
    .string()
    .max(16_384)
    .refine((s) => s.includes(`-----BEGIN ${label}-----`), `must be a PEM ${label}`);

/** Configuration the ProSe Function provisions to a UE over PC3. */
export const ProseConfigSchema = z.strictObject({
  ueId: nodeId,
  l2Id,
  groups: z.array(z.strictObject({ groupId, multicastAddress, port, l2GroupId: l2Id })).max(256),
  discovery: z.strictObject({ multicastAddress, port }),
  validUntil: isoTime,
  issuedAt: isoTime,
});
export type ProseConfig = z.infer<typeof ProseConfigSchema>;

export const REGISTER_REJECT_CAUSES = [
  'unknown_ue',
  'not_authorized',
  'identity_mismatch',
  'malformed',
  'rate_limited',
] as const;
export type RegisterRejectCause = (typeof REGISTER_REJECT_CAUSES)[number];

/** Causes of a generic `error` response (any request type). */
export const ERROR_CAUSES = [
  'malformed', // body or envelope failed validation (detail names the path)
  'unknown_type', // type not in this version's schema
  'unsupported_version', // v is not 1
  'oversize', // length prefix above the limit (the connection is then closed)
  'unexpected_message', // a valid message the receiver does not accept (e.g. a response type sent as request)
  'not_authorized',
  'rate_limited', // too many requests in flight on this connection
  'internal', // the handler failed; no details are given
] as const;
export type ErrorCause = (typeof ERROR_CAUSES)[number];

const discoveryName = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/);
/** Lower-case hex of at most `maxOctets` octets. */
const hexOctets = (maxOctets: number) =>
  z
    .string()
    .regex(/^([0-9a-f]{2})+$/)
    .max(2 * maxOctets);
/** What the ProSe Function allocates to a UE for discovery (docs/discovery.md). Contains keys: never log it. */
export const DiscoveryAllocationSchema = z.strictObject({
  epoch: z.number().int().min(0),
  applicationId: discoveryName,
  aluid: discoveryName,
  option: z.enum(['nonce', 'time-slot']),
  slotMs: z.number().int().min(10).max(3_600_000),
  announce: z.strictObject({
    restricted: z.strictObject({ code: hexOctets(64), key: hexOctets(32) }),
    open: z.strictObject({ code: hexOctets(64) }),
  }),
  monitor: z.strictObject({
    restricted: z
      .array(z.strictObject({ aluid: discoveryName, code: hexOctets(64), key: hexOctets(32) }))
      .max(4096),
    open: z
      .array(z.strictObject({ aluid: discoveryName, code: hexOctets(64), publicKeyPem: pem('PUBLIC KEY') }))
      .max(4096),
  }),
});
export type DiscoveryAllocation = z.infer<typeof DiscoveryAllocationSchema>;
export const DISCOVERY_REGISTER_REJECT_CAUSES = [
  'aluid_mismatch',
  'unknown_application',
  'not_registered',
  'rate_limited',
] as const;

export const ENROLL_REJECT_CAUSES = [
  'bad_token',
  'bad_key',
  'not_allowed',
  'malformed',
  'rate_limited',
] as const;
export type EnrollRejectCause = (typeof ENROLL_REJECT_CAUSES)[number];

/** Body schema per message type. Responses reuse the request id. */
export const PC3_BODY_SCHEMAS = {
  /** UE -> ProSe Function: register; ueId must equal the nodeId of the UE's certificate. */
  register_request: z.strictObject({
    ueId: nodeId,
    capabilities: z
      .array(z.string().regex(/^[a-z0-9._-]{1,64}$/))
      .max(32)
      .optional(),
  }),
  register_accept: z.strictObject({ config: ProseConfigSchema }),
  register_reject: z.strictObject({ cause: z.enum(REGISTER_REJECT_CAUSES), detail }),
  /** UE -> ProSe Function: fetch the current configuration (after registration). */
  config_request: z.strictObject({}),
  config_response: z.strictObject({ config: ProseConfigSchema }),
  error: z.strictObject({ cause: z.enum(ERROR_CAUSES), detail }),
  /** Node -> KMS enrollment endpoint (server-authenticated TLS): token = HMAC-SHA-256(secret, role||0x00||nodeId). */
  enroll_request: z.strictObject({
    nodeId,
    role: z.string().regex(ROLE_PATTERN),
    publicKeyPem: pem('PUBLIC KEY'),
    token: z.string().regex(/^[0-9a-f]{64}$/),
  }),
  enroll_accept: z.strictObject({ certPem: pem('CERTIFICATE'), caCertPem: pem('CERTIFICATE') }),
  enroll_reject: z.strictObject({ cause: z.enum(ENROLL_REJECT_CAUSES), detail }),
  /** UE -> KMS key service (mutual TLS): the UE's MIKEY-SAKKE key bundle for its certificate identity. */
  kms_bundle_request: z.strictObject({
    /** Group manager only: the bundle for this group's identity (docs/group.md) instead of its own. */
    groupId: groupId.optional(),
  }),
  /** KMS -> UE: bundle (crypto-core/kms-bundle.ts JSON form; secret) and the CA's current CRL. */
  kms_bundle_response: z.strictObject({
    bundle: z.string().min(2).max(16_384),
    crlPem: z.string().min(1).max(1_000_000),
  }),
  /** Node -> KMS key service: the CA's current CRL (for checking peer certificates on PC5). */
  crl_request: z.strictObject({}),
  crl_response: z.strictObject({ crlPem: z.string().min(1).max(1_000_000) }),
  /** UE -> group manager (TR 33.833 sol. #3.1, docs/group.md): long poll for a GMK newer than `haveGmkId`. */
  gmk_request: z.strictObject({ groupId, haveGmkId: z.number().int().min(0).max(0xffffffff).optional() }),
  /** Group manager -> UE: MIKEY-SAKKE I_MESSAGEs (hex) for this member; empty when nothing new in time. */
  gmk_response: z.strictObject({
    groupId,
    imessages: z.array(z.string().regex(/^[0-9a-f]{2,4096}$/)).max(4),
  }),
  gmk_reject: z.strictObject({ cause: z.enum(['not_member', 'unknown_group']), detail }),
  /** UE -> ProSe Function (TR 33.833 sol. #3.5): the pre-provisioned group key of one of its groups. */
  group_key_request: z.strictObject({ groupId }),
  /** ProSe Function -> UE: group key (secret, hex), its identifier, algorithm and period of use (ms since epoch). */
  group_key_response: z.strictObject({
    groupId,
    gmkId: z.number().int().min(0).max(0xffffffff),
    key: z.string().regex(/^[0-9a-f]{32}$/),
    algorithm: z.enum(['nea2-nia2', 'nea1-nia1', 'nea3-nia3']),
    activatedAtMs: z.number().int().nonnegative(),
    expiresAtMs: z.number().int().positive(),
  }),
  group_key_reject: z.strictObject({ cause: z.enum(['not_member', 'unknown_group']), detail }),
  /**
   * UE -> key server (TR 33.833 sol. #3.2, docs/group.md): the group key under GBA push. Long poll in the
   * invitation variant: answered when the member is invited, or `gba_key_pending` after a while.
   */
  gba_key_request: z.strictObject({ groupId }),
  /** Key server -> UE: the GBA push (procedures/group/gba-push.ts bytes, hex): RAND, AUTN, sealed group key. */
  gba_key_push: z.strictObject({ groupId, push: z.string().regex(/^[0-9a-f]{2,2048}$/) }),
  gba_key_pending: z.strictObject({ groupId }),
  gba_key_reject: z.strictObject({
    cause: z.enum(['not_member', 'not_invited', 'unknown_group', 'no_subscription', 'not_owner']),
    detail,
  }),
  /** Group owner UE -> key server (invitation variant): invite these members to the group. */
  gba_invite: z.strictObject({ groupId, members: z.array(nodeId).min(1).max(5000) }),
  gba_invite_response: z.strictObject({ groupId, invited: z.number().int().min(0) }),
  /** UE -> ProSe Function: discovery registration of an application user (docs/discovery.md). */
  discovery_register_request: z.strictObject({
    /** ALUID: application-level user ID; must be bound to the UE's subscription (TR 33.833 key issue #2.6). */
    aluid: discoveryName,
    /** ProSe Application ID. */
    applicationId: discoveryName,
    /** SPKI of the UE's open-discovery signing key (ECDSA P-256). */
    publicKeyPem: pem('PUBLIC KEY'),
  }),
  discovery_register_accept: z.strictObject({ allocation: DiscoveryAllocationSchema }),
  discovery_register_reject: z.strictObject({ cause: z.enum(DISCOVERY_REGISTER_REJECT_CAUSES), detail }),
  /** ProSe Function -> UE (unsolicited, id 0): a new allocation (new registrations, revocation). */
  discovery_allocation: z.strictObject({ allocation: DiscoveryAllocationSchema }),
  /** UE -> ProSe Function: Model B match report, the PF checks the response MIC (solution #2.2, PF in the loop). */
  discovery_match_report: z.strictObject({
    code: hexOctets(64),
    requestNonce: hexOctets(8),
    response: hexOctets(700),
  }),
  discovery_match_ack: z.strictObject({
    ok: z.boolean(),
    aluid: discoveryName.optional(),
    cause: z.enum(['malformed', 'unknown', 'bad_mic', 'bad_signature', 'stale', 'replay']).optional(),
  }),
} as const;

export type Pc3Type = keyof typeof PC3_BODY_SCHEMAS;

/**
 * Ahead-of-time compiled copies used on the hot path (zod's z.compile: about 4x faster on valid input; invalid
 * input falls back to the regular parser, so issues and paths are identical). Built on first use of a type.
 */
const compiledBodies = new Map<string, z.ZodType>();
function bodySchema(type: Pc3Type): z.ZodType {
  let c = compiledBodies.get(type);
  if (!c) {
    c = z.compile(PC3_BODY_SCHEMAS[type] as z.ZodType);
    compiledBodies.set(type, c);
  }
  return c;
}
export type Pc3Body<T extends Pc3Type> = z.infer<(typeof PC3_BODY_SCHEMAS)[T]>;
/** A validated PC3 message (discriminated by `type`). */
export type Pc3Message<T extends Pc3Type = Pc3Type> = {
  [K in T]: { v: 1; type: K; id: number; body: Pc3Body<K> };
}[T];
/** What a handler returns: the server adds v and the request id. */
export type Pc3Reply<T extends Pc3Type = Pc3Type> = { [K in T]: { type: K; body: Pc3Body<K> } }[T];

export function isPc3Type(type: string): type is Pc3Type {
  return Object.hasOwn(PC3_BODY_SCHEMAS, type);
}

/** Largest request id (ids are unsigned 32-bit integers chosen by the requester). */
export const MAX_MESSAGE_ID = 0xffffffff;

const Envelope = z.compile(
  z.strictObject({
    v: z.number().int(),
    type: z.string().min(1).max(64),
    id: z.number().int().min(0).max(MAX_MESSAGE_ID),
    body: z.unknown(),
  }),
);

export type Pc3MessageErrorCode = 'malformed' | 'unknown_type' | 'unsupported_version';

/**
 * A message that failed validation. `path` is the dotted location ('' for the whole message, 'body.config.l2Id'),
 * `reason` the schema's explanation; neither ever echoes input values. `id` and `type` are set when the envelope
 * was readable, so a reply can reuse the id.
 */
export class Pc3MessageError extends Error {
  override readonly name = 'Pc3MessageError';
  readonly code: Pc3MessageErrorCode;
  readonly path: string;
  readonly reason: string;
  readonly id: number | undefined;
  readonly type: string | undefined;
  constructor(code: Pc3MessageErrorCode, path: string, reason: string, id?: number, type?: string) {
    super(`${code}${path ? ` at ${path}` : ''}: ${reason}`);
    this.code = code;
    this.path = path;
    this.reason = reason;
    this.id = id;
    this.type = type;
  }
}

function firstIssue(err: z.ZodError, prefix: string[]): { path: string; reason: string } {
  const issue = err.issues[0];
  if (!issue) return { path: prefix.join('.'), reason: 'invalid' };
  const path = [...prefix, ...issue.path.map((p) => String(p))].join('.');
  // Zod messages name expected types and limits, not received values; still cap their length.
  return { path, reason: issue.message.slice(0, 200) };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Parses and validates one frame body. Throws Pc3MessageError. */
export function decodeMessage(bytes: Uint8Array): Pc3Message {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new Pc3MessageError('malformed', '', 'not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // JSON.parse's own message quotes the input: never pass it on.
    throw new Pc3MessageError('malformed', '', 'not valid JSON');
  }
  const env = Envelope.safeParse(json);
  if (!env.success) {
    const { path, reason } = firstIssue(env.error, []);
    const raw = json as { id?: unknown; type?: unknown } | null;
    const id =
      raw && typeof raw === 'object' && Number.isInteger(raw.id) && (raw.id as number) >= 0
        ? Math.min(raw.id as number, MAX_MESSAGE_ID)
        : undefined;
    throw new Pc3MessageError('malformed', path, reason, id);
  }
  const { v, type, id, body } = env.data;
  if (v !== PC3_VERSION) {
    throw new Pc3MessageError('unsupported_version', 'v', `version ${v} is not supported (expected 1)`, id);
  }
  if (!isPc3Type(type)) throw new Pc3MessageError('unknown_type', 'type', 'unknown message type', id);
  const parsed = bodySchema(type).safeParse(body);
  if (!parsed.success) {
    const { path, reason } = firstIssue(parsed.error, ['body']);
    throw new Pc3MessageError('malformed', path, reason, id, type);
  }
  return { v: 1, type, id, body: parsed.data } as Pc3Message;
}

/** Validates (unless validate=false) and serialises a message to UTF-8 JSON. Throws Pc3MessageError. */
export function encodeMessage(msg: Pc3Message, validate = true): Buffer {
  if (validate) {
    if (msg.v !== PC3_VERSION)
      throw new Pc3MessageError('unsupported_version', 'v', 'only version 1 is sent');
    if (!Number.isInteger(msg.id) || msg.id < 0 || msg.id > MAX_MESSAGE_ID) {
      throw new Pc3MessageError('malformed', 'id', 'id must be an unsigned 32-bit integer');
    }
    if (!isPc3Type(msg.type)) throw new Pc3MessageError('unknown_type', 'type', 'unknown message type');
    const parsed = bodySchema(msg.type).safeParse(msg.body);
    if (!parsed.success) {
      const { path, reason } = firstIssue(parsed.error, ['body']);
      throw new Pc3MessageError('malformed', path, reason, msg.id, msg.type);
    }
  }
  return Buffer.from(JSON.stringify({ v: msg.v, type: msg.type, id: msg.id, body: msg.body }), 'utf8');
}

/** Builds a message from a reply and the id it answers. */
export function makeMessage<T extends Pc3Type>(type: T, id: number, body: Pc3Body<T>): Pc3Message {
  return { v: 1, type, id, body } as unknown as Pc3Message;
}
