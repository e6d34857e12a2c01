// Testbed PKI for PC3 (TR 33.833 solution #6.1): an ECDSA P-256 / SHA-256 CA, per-node certificates, CRLs.
import 'reflect-metadata';
import { createPrivateKey, createPublicKey, randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import {
  checkNodeId,
  checkRole,
  generateNodeKeyPair,
  nodeUri,
  PkiError,
  type TestbedCa,
} from './identity.js';

export * from './identity.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
/** Certificates are back-dated by this much so small clock skews between nodes do not matter. */
const BACKDATE_MS = 5 * 60_000;

const DNS_LABELS =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** A random positive 128-bit serial number, as hex (upper case, as node:crypto reports serials). */
function randomSerial(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x3f) | 0x40; // positive and minimally encoded in DER
  return b.toString('hex').toUpperCase();
}

/** Caches the CryptoKey of a CA key PEM (import costs ~0.1 ms; the CA signs many certificates). */
const signingKeys = new Map<string, Promise<CryptoKey>>();

function caSigningKey(ca: TestbedCa): Promise<CryptoKey> {
  let k = signingKeys.get(ca.keyPem);
  if (!k) {
    k = importPrivateKey(ca.keyPem);
    signingKeys.set(ca.keyPem, k);
  }
  return k;
}

async function importPrivateKey(pem: string): Promise<CryptoKey> {
  let der: Buffer;
  try {
    der = createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' });
  } catch {
    throw new PkiError('bad_key', 'CA private key is not a valid PEM key');
  }
  return webcrypto.subtle.importKey('pkcs8', der, ECDSA_P256, false, ['sign']) as Promise<CryptoKey>;
}

/** Imports an SPKI PEM public key, requiring EC P-256. */
async function importP256PublicKey(pem: string): Promise<CryptoKey> {
  let der: Buffer;
  try {
    const key = createPublicKey(pem);
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new PkiError('bad_key', 'public key must be EC P-256');
    }
    der = key.export({ type: 'spki', format: 'der' });
  } catch (e) {
    if (e instanceof PkiError) throw e;
    throw new PkiError('bad_key', 'public key is not a valid SPKI PEM');
  }
  return webcrypto.subtle.importKey('spki', der, ECDSA_P256, true, ['verify']) as Promise<CryptoKey>;
}

/** Creates a self-signed testbed root CA (ECDSA P-256, SHA-256, pathLen 0). */
export async function createTestbedCa(
  opts: { name?: string; validityDays?: number } = {},
): Promise<TestbedCa> {
  const name = opts.name ?? 'prosec testbed CA';
  if (!/^[A-Za-z0-9 ._-]{1,64}$/.test(name))
    throw new PkiError('bad_name', 'CA name has unsupported characters');
  const keys = (await webcrypto.subtle.generateKey(ECDSA_P256, true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=${name}, O=prosec`,
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + (opts.validityDays ?? 30) * DAY_MS),
    keys,
    signingAlgorithm: ECDSA_SHA256,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  const keyPem = x509.PemConverter.encode(pkcs8, 'PRIVATE KEY');
  return { certPem: cert.toString('pem'), keyPem };
}

/**
 * Issues a node certificate: subject CN=<nodeId>, OU=<role>; SAN URI urn:prosec:<role>:<nodeId>, DNS localhost,
 * IP 127.0.0.1 (and DNS <nodeId> when it is a valid host name); key usage digitalSignature; EKU clientAuth+serverAuth.
 */
export async function issueNodeCertificate(
  ca: TestbedCa,
  opts: { nodeId: string; role: string; publicKeyPem: string; validityDays?: number },
): Promise<string> {
  checkNodeId(opts.nodeId);
  checkRole(opts.role);
  const publicKey = await importP256PublicKey(opts.publicKeyPem);
  const caCert = new x509.X509Certificate(ca.certPem);
  const now = Date.now();
  const san: x509.JsonGeneralNames = [
    { type: 'url', value: nodeUri(opts.role, opts.nodeId) },
    { type: 'dns', value: 'localhost' },
    { type: 'ip', value: '127.0.0.1' },
  ];
  if (DNS_LABELS.test(opts.nodeId) && opts.nodeId !== 'localhost')
    san.push({ type: 'dns', value: opts.nodeId });
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `CN=${opts.nodeId}, OU=${opts.role}, O=prosec`,
    issuer: caCert.subjectName,
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + (opts.validityDays ?? 7) * DAY_MS),
    publicKey,
    signingKey: await caSigningKey(ca),
    signingAlgorithm: ECDSA_SHA256,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([
        x509.ExtendedKeyUsage.clientAuth,
        x509.ExtendedKeyUsage.serverAuth,
      ]),
      new x509.SubjectAlternativeNameExtension(san),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
    ],
  });
  return cert.toString('pem');
}

/** Convenience for nodes that hold the CA (the KMS, the orchestrator, tests): key pair + certificate. */
export async function createNodeCredentials(
  ca: TestbedCa,
  opts: { nodeId: string; role: string; validityDays?: number },
): Promise<{ certPem: string; keyPem: string }> {
  const kp = generateNodeKeyPair();
  const certPem = await issueNodeCertificate(ca, { ...opts, publicKeyPem: kp.publicKeyPem });
  return { certPem, keyPem: kp.privateKeyPem };
}

/**
 * Creates a CRL (PEM) revoking `revokedSerials` (hex), signed by the CA. Usable as the node:tls `crl` option
 * (Pc3Server `crlPem`). An empty list gives a valid empty CRL.
 */
export async function createCrl(
  ca: TestbedCa,
  revokedSerials: readonly string[],
  opts: { nextUpdateDays?: number } = {},
): Promise<string> {
  const caCert = new x509.X509Certificate(ca.certPem);
  const now = Date.now();
  const entries = revokedSerials.map((s) => {
    const serialNumber = s.replace(/:/g, '').toUpperCase();
    if (!/^[0-9A-F]{1,64}$/.test(serialNumber)) throw new PkiError('bad_serial', 'serial must be hex');
    return { serialNumber, revocationDate: new Date(now - 1000), reason: x509.X509CrlReason.keyCompromise };
  });
  const crl = await x509.X509CrlGenerator.create({
    issuer: caCert.subjectName,
    thisUpdate: new Date(now - BACKDATE_MS),
    nextUpdate: new Date(now + (opts.nextUpdateDays ?? 7) * DAY_MS),
    signingAlgorithm: ECDSA_SHA256,
    signingKey: await caSigningKey(ca),
    entries,
    extensions: [await x509.AuthorityKeyIdentifierExtension.create(caCert)],
  });
  // OpenSSL (node:tls `crl`) wants the 'X509 CRL' PEM label, not the 'CRL' label @peculiar/x509 writes.
  return x509.PemConverter.encode(crl.rawData, 'X509 CRL');
}
