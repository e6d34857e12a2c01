// Node identities in the testbed PKI, without the certificate-authority code: what every node (a UE, the ProSe
// Function) needs to generate its key, name itself and read a peer's identity. Only node:crypto, so a node that
// never issues certificates does not load the X.509 builder library (about 300 ms of start-up per process).
import { generateKeyPairSync, X509Certificate as NodeX509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';

/** Node identifiers: letters, digits, '.', '_', '-'; 1..64 characters (never 0x00, never DN/SAN meta-characters). */
export const NODE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Role names: lower-case letters, digits, '-'; 1..32 characters (e.g. 'ue', 'prose-function', 'kms'). */
export const ROLE_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;
/** Invalid input to the PKI (bad node id, role, key type, certificate). Never carries key material. */
export class PkiError extends Error {
  override readonly name = 'PkiError';
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/** A testbed CA: its certificate and private key (PKCS#8), both PEM. Only the KMS and the orchestrator hold keyPem. */
export interface TestbedCa {
  certPem: string;
  keyPem: string;
}

export interface NodeKeyPair {
  /** PKCS#8 PEM. Secret. */
  privateKeyPem: string;
  /** SPKI PEM. */
  publicKeyPem: string;
}

export interface NodeIdentity {
  nodeId: string;
  role: string;
}

/** The SAN URI naming a node: urn:prosec:<role>:<nodeId>. */
export function nodeUri(role: string, nodeId: string): string {
  return `urn:prosec:${role}:${nodeId}`;
}

export function checkNodeId(nodeId: unknown): asserts nodeId is string {
  if (typeof nodeId !== 'string' || !NODE_ID_PATTERN.test(nodeId)) {
    throw new PkiError('bad_node_id', `node id must match ${NODE_ID_PATTERN}`);
  }
}

export function checkRole(role: unknown): asserts role is string {
  if (typeof role !== 'string' || !ROLE_PATTERN.test(role)) {
    throw new PkiError('bad_role', `role must match ${ROLE_PATTERN}`);
  }
}

/** A fresh ECDSA P-256 key pair (node:crypto, about 0.1 ms). */
export function generateNodeKeyPair(): NodeKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ec', {
    namedCurve: 'P-256',
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { privateKeyPem: privateKey, publicKeyPem: publicKey };
}

/** Serial number of a certificate (upper-case hex, as node:crypto and `revokedSerials` use). */
export function certificateSerial(certPem: string): string {
  return new NodeX509Certificate(certPem).serialNumber.toUpperCase();
}

/**
 * Identity of a peer from its certificate: the SAN URI urn:prosec:<role>:<nodeId>, cross-checked against
 * CN/OU when present. Accepts a node:tls PeerCertificate, a node:crypto X509Certificate or a PEM string.
 * Throws PkiError('no_identity') when the certificate does not name a testbed node.
 */
export function parseNodeIdentity(cert: PeerCertificate | NodeX509Certificate | string): NodeIdentity {
  let san: string | undefined;
  let cn: string | undefined;
  let ou: string | undefined;
  if (typeof cert === 'string' || cert instanceof NodeX509Certificate) {
    const c = typeof cert === 'string' ? new NodeX509Certificate(cert) : cert;
    san = c.subjectAltName;
    for (const line of c.subject.split('\n')) {
      if (line.startsWith('CN=')) cn = line.slice(3);
      else if (line.startsWith('OU=')) ou = line.slice(3);
    }
  } else {
    san = cert.subjectaltname;
    cn = typeof cert.subject?.CN === 'string' ? cert.subject.CN : undefined;
    ou = typeof cert.subject?.OU === 'string' ? cert.subject.OU : undefined;
  }
  const uris = (san ?? '')
    .split(', ')
    .filter((s) => s.startsWith('URI:urn:prosec:'))
    .map((s) => s.slice('URI:urn:prosec:'.length));
  if (uris.length !== 1)
    throw new PkiError('no_identity', 'certificate has no (or several) urn:prosec SAN URIs');
  const parts = uris[0]!.split(':');
  const [role, nodeId] = parts;
  if (parts.length !== 2 || !role || !nodeId || !ROLE_PATTERN.test(role) || !NODE_ID_PATTERN.test(nodeId)) {
    throw new PkiError('no_identity', 'malformed urn:prosec SAN URI');
  }
  if ((cn !== undefined && cn !== nodeId) || (ou !== undefined && ou !== role)) {
    throw new PkiError('no_identity', 'certificate subject does not match its urn:prosec SAN URI');
  }
  return { nodeId, role };
}
