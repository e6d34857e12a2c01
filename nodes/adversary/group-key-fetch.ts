// TR 33.833 key issue #3.1 (an unauthorized UE obtaining group keys): the adversary holds the valid credentials of a
// subscribed UE (the scenario's `adversary.insider`: its certificate and its ProSe registration) that is not a member
// of a group whose key the ProSe Function hands out over PC3 (sol. #3.5), and asks for that group's key. Evidence:
// requests, keys obtained, `not_member` rejections; the ProSe Function counts keys it gave a non-member.
import type { Attack, AttackIo } from './attack.js';

const REQUESTS_PER_GROUP = 3;
const SPACING_MS = 300;

export function groupKeyFetch(io: AttackIo): Attack {
  let requests = 0;
  let keysObtained = 0;
  let rejectedNotMember = 0;
  let errors = 0;
  const ask = (groupId: string) => {
    requests++;
    io.insider!.request('group_key_request', { groupId }).then(
      (r) => {
        if (r.type === 'group_key_response' && r.body.key.length > 0) keysObtained++;
        else if (r.type === 'group_key_reject' && r.body.cause === 'not_member') rejectedNotMember++;
        else errors++;
      },
      () => {
        errors++;
      },
    );
  };
  return {
    onFrame() {},
    start() {
      if (!io.insider) return;
      for (const g of io.insider.targetGroups)
        for (let i = 0; i < REQUESTS_PER_GROUP; i++) io.later(100 + i * SPACING_MS, () => ask(g));
    },
    evidence: () => ({
      insider: io.insider ? 1 : 0,
      targetGroups: io.insider?.targetGroups.length ?? 0,
      requests,
      keysObtained,
      rejectedNotMember,
      errors,
    }),
  };
}
