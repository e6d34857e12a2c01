// KMS provisioning bundle for MIKEY-SAKKE UEs (RFC 6509 with RFC 6507 ECCSI and RFC 6508 SAKKE keys):
// the KMS generates its master keys and issues, per identifier, what a UE receives; the UE validates the
// bundle on receipt (RFC 6507 5.1.2 SSK validation, RFC 6508 6.1.2 RSK validation). JSON, hex fields, versioned.
import { fromHex, toHex } from './bytes.js';
import { CryptoInputError } from './errors.js';
import { ECCSI_POINT_BYTES, eccsiGenerateKmsKeys, eccsiIssueSsk, eccsiValidateSsk } from './rfc6507-eccsi.js';
import {
  SAKKE_PARAMETER_SET_1,
  sakkeGenerateMasterKey,
  sakkeIssueRsk,
  sakkeValidateRsk,
} from './rfc6508-sakke.js';
import { type KeyPeriodSetting, kmsCheckIdentity, parseIdentity } from './rfc6509-identity.js';

/** A bundle that failed validation; `code` says which check ('ssk_invalid', 'rsk_invalid', 'identity_period', ...). */
export class KmsBundleError extends CryptoInputError {}

/** KMS master key material (secret: KSAK and z never leave the KMS). */
export interface KmsMasterKeys {
  kmsUri: string;
  keyPeriod: KeyPeriodSetting;
  /** RFC 6507 KMS Secret Authentication Key and KMS Public Authentication Key. */
  KSAK: Uint8Array;
  KPAK: Uint8Array;
  /** RFC 6508 master secret z_S and KMS public key Z_S. */
  z: Uint8Array;
  Z_S: Uint8Array;
}

/** What a UE receives from the KMS for one identifier and key period. */
export interface UeKeyBundle {
  version: 1;
  kmsUri: string;
  /** RFC 6509 3.2 identifier "YYYY-MM\0URI\0". */
  identity: Uint8Array;
  keyPeriod: KeyPeriodSetting;
  /** SAKKE parameter set (RFC 6509 Appendix A: 1). */
  sakkeParameterSet: number;
  SSK: Uint8Array;
  PVT: Uint8Array;
  RSK: Uint8Array;
  KPAK: Uint8Array;
  Z_S: Uint8Array;
}

export const KMS_BUNDLE_VERSION = 1;

/** Generates KSAK/KPAK (RFC 6507 4.2) and z_S/Z_S (RFC 6508 2.2) for a KMS. */
export function generateKmsMasterKeys(
  kmsUri: string,
  keyPeriod: KeyPeriodSetting = { lengthMonths: 1 },
): KmsMasterKeys {
  if (typeof kmsUri !== 'string' || kmsUri.length === 0)
    throw new CryptoInputError('kms_uri', 'KMS URI required');
  const { KSAK, KPAK } = eccsiGenerateKmsKeys();
  const { z, Z_S } = sakkeGenerateMasterKey();
  return { kmsUri, keyPeriod, KSAK, KPAK, z, Z_S };
}

/**
 * KMS side: checks the identifier (well formed, current key period, or the next one when `allowNext`),
 * then issues SSK/PVT (RFC 6507 5.1.1) and RSK (RFC 6508 6.1.1) for it.
 */
export function issueBundle(
  master: KmsMasterKeys,
  identity: Uint8Array,
  now: Date,
  allowNext = false,
): UeKeyBundle {
  kmsCheckIdentity(identity, now, master.keyPeriod, allowNext);
  const { SSK, PVT } = eccsiIssueSsk(master.KSAK, master.KPAK, identity);
  const RSK = sakkeIssueRsk(master.z, identity);
  return {
    version: KMS_BUNDLE_VERSION,
    kmsUri: master.kmsUri,
    identity: identity.slice(),
    keyPeriod: { ...master.keyPeriod },
    sakkeParameterSet: SAKKE_PARAMETER_SET_1.id,
    SSK,
    PVT,
    RSK,
    KPAK: master.KPAK.slice(),
    Z_S: master.Z_S.slice(),
  };
}

/**
 * UE side, on receipt: identifier well formed (and, with `now`, for the current key period), SSK valid
 * (RFC 6507 5.1.2) and RSK valid (RFC 6508 6.1.2). Throws KmsBundleError naming the failed check.
 */
export function validateBundle(bundle: UeKeyBundle, now?: Date): void {
  if (bundle.version !== KMS_BUNDLE_VERSION) {
    throw new KmsBundleError('bundle_version', `unsupported bundle version ${bundle.version}`);
  }
  if (bundle.sakkeParameterSet !== SAKKE_PARAMETER_SET_1.id) {
    throw new KmsBundleError(
      'sakke_parameter_set',
      `unsupported SAKKE parameter set ${bundle.sakkeParameterSet}`,
    );
  }
  try {
    if (now) kmsCheckIdentity(bundle.identity, now, bundle.keyPeriod, true);
    else parseIdentity(bundle.identity);
  } catch (e) {
    if (e instanceof CryptoInputError) throw new KmsBundleError(e.code, e.message);
    throw e;
  }
  const check = (code: string, what: string, f: () => boolean) => {
    let ok: boolean;
    try {
      ok = f();
    } catch (e) {
      if (e instanceof CryptoInputError) throw new KmsBundleError(code, `${what}: ${e.message}`);
      throw e;
    }
    if (!ok) throw new KmsBundleError(code, `${what} failed`);
  };
  check('ssk_invalid', 'SSK validation (RFC 6507 5.1.2)', () =>
    eccsiValidateSsk(bundle.identity, bundle.SSK, bundle.PVT, bundle.KPAK),
  );
  check('rsk_invalid', 'RSK validation (RFC 6508 6.1.2)', () =>
    sakkeValidateRsk(bundle.identity, bundle.RSK, bundle.Z_S),
  );
}

const HEX_FIELDS = ['identity', 'SSK', 'PVT', 'RSK', 'KPAK', 'Z_S'] as const;

/** JSON form: byte fields as lower-case hex. Contains the UE's secrets (SSK, RSK): never log it. */
export function serializeBundle(bundle: UeKeyBundle): string {
  const out: Record<string, unknown> = {
    version: bundle.version,
    kmsUri: bundle.kmsUri,
    keyPeriod: bundle.keyPeriod,
    sakkeParameterSet: bundle.sakkeParameterSet,
  };
  for (const f of HEX_FIELDS) out[f] = toHex(bundle[f]);
  return JSON.stringify(out);
}

/** Parses the JSON form (structure and field lengths only; run validateBundle for the keys). */
export function parseBundle(json: string): UeKeyBundle {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    throw new KmsBundleError('bundle_json', 'bundle is not JSON');
  }
  if (typeof o !== 'object' || o === null) throw new KmsBundleError('bundle_json', 'bundle is not an object');
  if (o.version !== KMS_BUNDLE_VERSION)
    throw new KmsBundleError('bundle_version', `unsupported bundle version`);
  if (typeof o.kmsUri !== 'string') throw new KmsBundleError('bundle_field', 'kmsUri missing');
  const kp = o.keyPeriod as KeyPeriodSetting | undefined;
  if (!kp || typeof kp.lengthMonths !== 'number')
    throw new KmsBundleError('bundle_field', 'keyPeriod missing');
  if (typeof o.sakkeParameterSet !== 'number')
    throw new KmsBundleError('bundle_field', 'sakkeParameterSet missing');
  const bytes: Partial<Record<(typeof HEX_FIELDS)[number], Uint8Array>> = {};
  for (const f of HEX_FIELDS) {
    const v = o[f];
    if (typeof v !== 'string') throw new KmsBundleError('bundle_field', `${f} missing`);
    try {
      bytes[f] = fromHex(v);
    } catch {
      throw new KmsBundleError('bundle_field', `${f} is not hex`);
    }
  }
  const lengths: [string, Uint8Array, number][] = [
    ['PVT', bytes.PVT!, ECCSI_POINT_BYTES],
    ['KPAK', bytes.KPAK!, ECCSI_POINT_BYTES],
    ['SSK', bytes.SSK!, 32],
    ['RSK', bytes.RSK!, 257],
    ['Z_S', bytes.Z_S!, 257],
  ];
  for (const [name, b, n] of lengths) {
    if (b.length !== n) throw new KmsBundleError('bundle_field', `${name} must be ${n} octets`);
  }
  const keyPeriod: KeyPeriodSetting = { lengthMonths: kp.lengthMonths };
  if (kp.offsetMonths !== undefined) keyPeriod.offsetMonths = kp.offsetMonths;
  return {
    version: KMS_BUNDLE_VERSION,
    kmsUri: o.kmsUri,
    identity: bytes.identity!,
    keyPeriod,
    sakkeParameterSet: o.sakkeParameterSet,
    SSK: bytes.SSK!,
    PVT: bytes.PVT!,
    RSK: bytes.RSK!,
    KPAK: bytes.KPAK!,
    Z_S: bytes.Z_S!,
  };
}
