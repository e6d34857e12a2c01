// Certificate-based KD establishment (TR 33.833 sol. #4.1, network-independent): ephemeral P-256 ECDH, each side
// signing its ephemeral key with its enrolled certificate's key (ECDSA P-256/SHA-256); certificates are checked
// against the testbed CA and its revocation list. KD = KDF(Z, FC 0xF4, pub_1, pub_2) (crypto-core/prose-kdf.ts).
import 'reflect-metadata';
import {
  createECDH,
  createPrivateKey,
  sign as ecdsaSign,
  verify as ecdsaVerify,
  type KeyObject,
  X509Certificate,
} from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { concatBytes } from '../../crypto-core/bytes.js';
import { deriveKdFromEcdh } from '../../crypto-core/prose-kdf.js';
import { parseNodeIdentity } from '../../transport/pc3/pki.js';
import {
  type KdContext,
  KdError,
  type KdInitiatorRun,
  type KdMethod,
  type KdResponderResult,
} from './kd-method.js';
import { DirectLinkMessageError, packFields, unpackFields } from './messages.js';

/** The CA and the serials its (signature-verified) CRL revokes. */
export interface CertificateTrust {
  ca: X509Certificate;
  /** Upper-case hex serials. */
  revoked: ReadonlySet<string>;
}

/** Builds the trust store: parses the CA, checks the CRL's signature against it, collects revoked serials. */
export async function loadCertificateTrust(caCertPem: string, crlPem?: string): Promise<CertificateTrust> {
  const ca = new X509Certificate(caCertPem);
  const revoked = new Set<string>();
  if (crlPem) {
    const crl = new x509.X509Crl(crlPem);
    const caX = new x509.X509Certificate(caCertPem);
    if (!(await crl.verify({ publicKey: caX })))
      throw new Error('CRL signature does not verify against the CA');
    for (const e of crl.entries) revoked.add(e.serialNumber.toUpperCase());
  }
  return { ca, revoked };
}

export interface CertificateCredentials {
  certPem: string;
  keyPem: string;
  trust: CertificateTrust;
}

const LABEL_INIT = 0x01;
const LABEL_RESP = 0x02;

/** Checks a peer certificate: issued and signed by the CA, in its validity period, not revoked, a UE. */
export function checkPeerCertificate(der: Uint8Array, trust: CertificateTrust, now: number): X509Certificate {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
  } catch {
    throw new KdError('cert_invalid', 'certificate does not parse');
  }
  if (!cert.checkIssued(trust.ca) || !cert.verify(trust.ca.publicKey))
    throw new KdError('cert_invalid', 'certificate not issued by the testbed CA');
  if (now < Date.parse(cert.validFrom) || now > Date.parse(cert.validTo))
    throw new KdError('cert_invalid', 'certificate outside its validity period');
  if (trust.revoked.has(cert.serialNumber.toUpperCase()))
    throw new KdError('cert_revoked', 'certificate revoked');
  if (cert.publicKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
    throw new KdError('cert_invalid', 'certificate key is not P-256');
  return cert;
}

function peerIdOf(cert: X509Certificate): string {
  try {
    const id = parseNodeIdentity(cert);
    if (id.role !== 'ue') throw new KdError('cert_identity', 'peer certificate is not a UE certificate');
    return id.nodeId;
  } catch (e) {
    if (e instanceof KdError) throw e;
    throw new KdError('cert_identity', 'peer certificate names no testbed node');
  }
}

function fields(keyData: Uint8Array): Uint8Array[] {
  try {
    const f = unpackFields(keyData, 3);
    if (f[0]!.length !== 65 || f[0]![0] !== 0x04)
      throw new KdError('key_data', 'ephemeral key must be 65 octets');
    return f;
  } catch (e) {
    if (e instanceof DirectLinkMessageError) throw new KdError('key_data', e.message);
    throw e;
  }
}

export class CertificateKdMethod implements KdMethod {
  readonly name = 'certificate' as const;
  private readonly key: KeyObject;
  private readonly certDer: Uint8Array;

  constructor(private readonly creds: CertificateCredentials) {
    this.key = createPrivateKey(creds.keyPem);
    this.certDer = new Uint8Array(new X509Certificate(creds.certPem).raw);
  }

  initiate(ctx: KdContext): KdInitiatorRun {
    const ecdh = createECDH('prime256v1');
    const pub1 = new Uint8Array(ecdh.generateKeys());
    const enc = new TextEncoder();
    const signed = concatBytes(
      Uint8Array.of(LABEL_INIT),
      ctx.nonce1,
      ctx.transcript,
      pub1,
      enc.encode(ctx.target),
    );
    const keyData = packFields(pub1, this.certDer, new Uint8Array(ecdsaSign('sha256', signed, this.key)));
    const { trust } = this.creds;
    return {
      keyData,
      complete: (responderKeyData, nonce2) => {
        if (!responderKeyData) throw new KdError('key_data', 'DSMC carries no key-establishment data');
        const [pub2, der, sig] = fields(responderKeyData) as [Uint8Array, Uint8Array, Uint8Array];
        const cert = checkPeerCertificate(der, trust, ctx.now);
        const peerId = peerIdOf(cert);
        if (peerId !== ctx.target) throw new KdError('cert_identity', 'responder is not the target UE');
        const signed2 = concatBytes(
          Uint8Array.of(LABEL_RESP),
          ctx.nonce1,
          nonce2,
          ctx.transcript,
          pub1,
          pub2,
        );
        if (!ecdsaVerify('sha256', signed2, cert.publicKey, sig))
          throw new KdError('signature', 'responder signature does not verify');
        let z: Uint8Array;
        try {
          z = new Uint8Array(ecdh.computeSecret(pub2));
        } catch {
          throw new KdError('key_data', 'responder ephemeral key is not on P-256');
        }
        return { kd: deriveKdFromEcdh(z, pub1, pub2), peerId };
      },
    };
  }

  respond(keyData: Uint8Array, ctx: KdContext, nonce2: Uint8Array, selfId: string): KdResponderResult {
    const [pub1, der, sig] = fields(keyData) as [Uint8Array, Uint8Array, Uint8Array];
    const cert = checkPeerCertificate(der, this.creds.trust, ctx.now);
    const peerId = peerIdOf(cert);
    const signed = concatBytes(
      Uint8Array.of(LABEL_INIT),
      ctx.nonce1,
      ctx.transcript,
      pub1,
      new TextEncoder().encode(selfId),
    );
    if (!ecdsaVerify('sha256', signed, cert.publicKey, sig))
      throw new KdError('signature', 'initiator signature does not verify');
    const ecdh = createECDH('prime256v1');
    const pub2 = new Uint8Array(ecdh.generateKeys());
    let z: Uint8Array;
    try {
      z = new Uint8Array(ecdh.computeSecret(pub1));
    } catch {
      throw new KdError('key_data', 'initiator ephemeral key is not on P-256');
    }
    const signed2 = concatBytes(Uint8Array.of(LABEL_RESP), ctx.nonce1, nonce2, ctx.transcript, pub1, pub2);
    return {
      kd: deriveKdFromEcdh(z, pub1, pub2),
      keyData: packFields(pub2, this.certDer, new Uint8Array(ecdsaSign('sha256', signed2, this.key))),
      peerId,
    };
  }
}
