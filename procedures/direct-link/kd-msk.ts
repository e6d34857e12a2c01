// KD from the UE-to-network relay's MSK (TR 33.833 KD method (c), used by the relay procedure): both the remote UE
// and the relay hold the 64-octet EAP-AKA' MSK; KD = the first 256 bits (crypto-core/prose-kdf.ts kdFromMsk) and
// the KD ID is KSI_D2D, so the Direct Communication Request names the MSK without carrying key material.
import { kdFromMsk } from '../../crypto-core/prose-kdf.js';

export interface RelayKd {
  /** KD ID = KSI_D2D (32 bits). */
  kdId: number;
  kd: Uint8Array;
}

/** KD and KD ID from a relay MSK (64 octets) and KSI_D2D; install it with DirectLinkEndpoint.addRelayMsk. */
export function kdFromRelayMsk(msk: Uint8Array, ksiD2D: number): RelayKd {
  if (!Number.isInteger(ksiD2D) || ksiD2D < 0 || ksiD2D > 0xffffffff)
    throw new RangeError('KSI_D2D must be a 32-bit unsigned integer');
  return { kdId: ksiD2D, kd: kdFromMsk(msk) };
}
