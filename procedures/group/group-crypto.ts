// The identity-based crypto the group procedures hand out as jobs (RFC 6507 ECCSI, RFC 6508 SAKKE), behind one
// async interface so a node runs them inline and a group manager or a benchmark in nodes/crypto-pool.ts.
// Also the drivers that run a procedure's jobs through it (distributeGmk, receiveGmk, signCallInit, receiveCallInit).
import { createHash } from 'node:crypto';
import type { UeKeyBundle } from '../../crypto-core/kms-bundle.js';
import { eccsiSign, eccsiVerify } from '../../crypto-core/rfc6507-eccsi.js';
import { sakkeDecapsulate, sakkeEncapsulate } from '../../crypto-core/rfc6508-sakke.js';
import type { GmkDeliveryJob, GmkDistributor, GmkInstallResult, GmkReceiver } from './gmk-distribution.js';
import type { GroupCallReceiver, GroupSecurityContext, UnsignedCallInit } from './group-call.js';

export interface GroupCrypto {
  encapsulate(ssv: Uint8Array, identity: Uint8Array): Promise<Uint8Array>;
  /** SSV, or undefined when the RFC 6508 check fails. */
  decapsulate(encapsulated: Uint8Array, identity: Uint8Array): Promise<Uint8Array | undefined>;
  /** ECCSI signature with this node's own key (SSK/PVT of `bundle.identity`). */
  sign(message: Uint8Array): Promise<Uint8Array>;
  verify(message: Uint8Array, signature: Uint8Array, signerIdentity: Uint8Array): Promise<boolean>;
}

/** Runs everything on the calling thread with the node's KMS bundle. */
export function inlineGroupCrypto(bundle: UeKeyBundle): GroupCrypto {
  return {
    encapsulate: async (ssv, id) => sakkeEncapsulate(ssv, id, bundle.Z_S),
    decapsulate: async (enc, id) => {
      try {
        return sakkeDecapsulate(enc, id, bundle.RSK, bundle.Z_S);
      } catch {
        return undefined;
      }
    },
    sign: async (m) => eccsiSign(m, bundle.identity, bundle.SSK, bundle.PVT, bundle.KPAK),
    verify: async (m, s, id) => {
      try {
        return eccsiVerify(m, s, id, bundle.KPAK);
      } catch {
        return false;
      }
    },
  };
}

const sharedVerdicts = new Map<string, Promise<boolean>>();
const SHARED_VERDICTS_MAX = 256;

/**
 * Packed mode (several emulated UEs in one process): an ECCSI verification depends only on public input (message,
 * signature, signer identity, KPAK), so co-hosted members that receive the same signed call-init share one
 * verification instead of serialising identical work that separate devices would do in parallel. Keyed by a
 * SHA-256 of all four inputs; bounded (oldest dropped first). Signing and SAKKE (per-UE secrets) are untouched.
 */
export function shareVerifications(crypto: GroupCrypto, kpak: Uint8Array): GroupCrypto {
  return {
    ...crypto,
    verify: (m, s, id) => {
      const h = createHash('sha256');
      for (const part of [kpak, id, s, m]) h.update(Uint32Array.of(part.length)).update(part);
      const key = h.digest('base64');
      let v = sharedVerdicts.get(key);
      if (!v) {
        v = crypto.verify(m, s, id);
        if (sharedVerdicts.size >= SHARED_VERDICTS_MAX)
          sharedVerdicts.delete(sharedVerdicts.keys().next().value!);
        sharedVerdicts.set(key, v);
      }
      return v;
    },
  };
}

/** Group manager: produces the I_MESSAGE of each job (encapsulate, assemble, sign). */
export async function deliverGmk(
  d: GmkDistributor,
  job: GmkDeliveryJob,
  crypto: GroupCrypto,
  nowMs: number,
): Promise<Uint8Array> {
  const sakkeData = await crypto.encapsulate(job.ssv, job.identity);
  const u = d.assemble(job, sakkeData, nowMs);
  return u.complete(await crypto.sign(u.toBeSigned));
}

/** Member: opens, verifies, decapsulates and installs one I_MESSAGE. */
export async function receiveGmk(
  r: GmkReceiver,
  bytes: Uint8Array,
  crypto: GroupCrypto,
  nowMs: number,
): Promise<GmkInstallResult> {
  const o = r.open(bytes, nowMs);
  if (!o.ok) return o;
  const p = o.pending;
  const valid = await crypto.verify(p.verify.message, p.verify.signature, p.verify.signerIdentity);
  if (!valid) return r.install(p, false, undefined);
  const ssv = await crypto.decapsulate(p.decapsulate.encapsulated, p.decapsulate.identity);
  return r.install(p, true, ssv);
}

/**
 * INSECURE, the threat matrix's control only (`groupSecurity.groups[].insecure.skipGmkSignatureCheck`): installs the
 * GMK whatever the I_MESSAGE's ECCSI signature says. The signature is still verified, only to report it
 * (`signatureValid`: ground truth for the matrix), never to decide.
 */
export async function receiveGmkWithoutSignatureCheck(
  r: GmkReceiver,
  bytes: Uint8Array,
  crypto: GroupCrypto,
  nowMs: number,
): Promise<GmkInstallResult & { signatureValid?: boolean }> {
  const o = r.open(bytes, nowMs);
  if (!o.ok) return o;
  const p = o.pending;
  const signatureValid = await crypto.verify(p.verify.message, p.verify.signature, p.verify.signerIdentity);
  const ssv = await crypto.decapsulate(p.decapsulate.encapsulated, p.decapsulate.identity);
  const res = r.install(p, true, ssv);
  return res.ok ? { ...res, signatureValid } : res;
}

export async function signCallInit(u: UnsignedCallInit, crypto: GroupCrypto): Promise<Uint8Array> {
  return u.complete(await crypto.sign(u.toBeSigned));
}

export async function receiveCallInit(
  r: GroupCallReceiver,
  bytes: Uint8Array,
  crypto: GroupCrypto,
  nowMs: number,
): Promise<{ ok: true; context: GroupSecurityContext } | { ok: false; reason: string }> {
  const o = r.open(bytes, nowMs);
  if (!o.ok) return o;
  const v = o.pending.verify;
  return r.complete(o.pending, await crypto.verify(v.message, v.signature, v.signerIdentity));
}
