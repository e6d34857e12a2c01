// GroupCrypto (procedures/group/group-crypto.ts) over nodes/crypto-pool.ts: SAKKE and ECCSI jobs of the group
// procedures run on worker threads, so a group manager (or a benchmark) uses every core.
import type { UeKeyBundle } from '../crypto-core/kms-bundle.js';
import type { GroupCrypto } from '../procedures/group/group-crypto.js';
import type { CryptoPool } from './crypto-pool.js';

export function poolGroupCrypto(pool: CryptoPool, bundle: UeKeyBundle): GroupCrypto {
  return {
    encapsulate: (ssv, id) => pool.run('sakke.encapsulate', { ssv, id, zS: bundle.Z_S }),
    decapsulate: (encapsulated, id) =>
      pool
        .run('sakke.decapsulate', { encapsulated, id, rsk: bundle.RSK, zS: bundle.Z_S })
        .catch(() => undefined),
    sign: (message) =>
      pool.run('eccsi.sign', {
        message,
        id: bundle.identity,
        ssk: bundle.SSK,
        pvt: bundle.PVT,
        kpak: bundle.KPAK,
      }),
    verify: (message, signature, id) =>
      pool.run('eccsi.verify', { message, signature, id, kpak: bundle.KPAK }).then(
        (r) => r[0] === 1,
        () => false,
      ),
  };
}
