// GBA key derivation (TS 33.220 4.5.2 and Annex B.3): Ks = CK || IK from the AKA run, and the NAF-specific key
// Ks_(ext)_NAF = KDF(Ks, FC = 0x01, P0 = "gba-me", P1 = RAND, P2 = IMPI, P3 = NAF_Id), where
// NAF_Id = FQDN of the NAF || Ua security protocol identifier (TS 33.220 Annex H). GBA push (TS 33.223) derives
// the same key from the RAND it pushes to the UE.
import { concatBytes } from './bytes.js';
import { CryptoInputError } from './errors.js';
import { kdf } from './kdf-ts33220.js';

/** TS 33.220 B.3: FC value of the Ks_(ext)_NAF derivation. */
export const GBA_KS_NAF_FC = 0x01;

/** NAF_Id = FQDN || Ua security protocol identifier (5 octets, TS 33.220 Annex H). */
export function nafId(fqdn: string, uaProtocolId: Uint8Array): Uint8Array {
  if (uaProtocolId.length !== 5)
    throw new CryptoInputError('ua_id', 'Ua security protocol identifier is 5 octets');
  if (!/^[a-z0-9.-]{1,253}$/.test(fqdn))
    throw new CryptoInputError('fqdn', 'NAF FQDN must be a lower-case host name');
  return concatBytes(new TextEncoder().encode(fqdn), uaProtocolId);
}

/** Ks_(ext)_NAF (32 octets) from CK, IK (16 octets each), RAND (16), the IMPI (UTF-8) and NAF_Id. */
export function deriveKsNaf(
  ck: Uint8Array,
  ik: Uint8Array,
  rand: Uint8Array,
  impi: string,
  naf: Uint8Array,
): Uint8Array {
  if (ck.length !== 16 || ik.length !== 16)
    throw new CryptoInputError('key_length', 'CK and IK are 16 octets');
  if (rand.length !== 16) throw new CryptoInputError('rand_length', 'RAND is 16 octets');
  const ks = concatBytes(ck, ik);
  return kdf(
    ks,
    GBA_KS_NAF_FC,
    new TextEncoder().encode('gba-me'),
    rand,
    new TextEncoder().encode(impi),
    naf,
  );
}
