// Attack modules by id (scenario `adversary.attacks`, docs/threat-matrix.md).
import type { AttackFactory } from './attack.js';
import { discoveryReplay } from './discovery-replay.js';
import { dsmcReplay } from './dsmc-replay.js';
import { gmkForgery } from './gmk-forgery.js';
import { groupCallReplay } from './group-call-replay.js';
import { groupEavesdrop } from './group-eavesdrop.js';
import { groupKeyFetch } from './group-key-fetch.js';
import { groupReplay } from './group-replay.js';
import { linkDowngrade } from './link-downgrade.js';
import { linkEavesdrop } from './link-eavesdrop.js';
import { openImpersonation } from './open-impersonation.js';
import { registrationFlood } from './registration-flood.js';
import { rogueConfigServer } from './rogue-config-server.js';
import { tracking } from './tracking.js';

export const ATTACKS = {
  tracking,
  'group-eavesdrop': groupEavesdrop,
  'group-replay': groupReplay,
  'discovery-replay': discoveryReplay,
  'open-impersonation': openImpersonation,
  'group-call-replay': groupCallReplay,
  'link-eavesdrop': linkEavesdrop,
  'group-key-fetch': groupKeyFetch,
  'registration-flood': registrationFlood,
  'gmk-forgery': gmkForgery,
  'link-downgrade': linkDowngrade,
  'dsmc-replay': dsmcReplay,
  'rogue-config-server': rogueConfigServer,
} satisfies Record<string, AttackFactory>;

export type AttackId = keyof typeof ATTACKS;
export const ATTACK_IDS = Object.keys(ATTACKS) as AttackId[];
