// Role registry: role name -> module, loaded lazily so each process imports only its own role's code.
import type { RoleName } from '../runtime/protocol.js';
import type { RoleModule } from './role.js';

export const ROLES: Record<RoleName, () => Promise<RoleModule>> = {
  kms: () => import('./kms.js'),
  'prose-function': () => import('./prose-function.js'),
  ue: () => import('./ue.js'),
  aaa: () => import('./aaa.js'),
  network: () => import('./network.js'),
  relay: () => import('./relay.js'),
  'remote-ue': () => import('./remote-ue.js'),
  'group-manager': () => import('./group-manager.js'),
  'key-server': () => import('./key-server.js'),
  adversary: () => import('./adversary.js'),
};
