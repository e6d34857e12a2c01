// Adversary role (docs/threat-matrix.md): its own OS process on the run's PC5 medium. It joins the PC5 groups it is
// given (discovery and one-to-many groups), holds no key of the run, and runs attack modules (nodes/adversary/) during
// the traffic phase; their evidence is in its status, which `prosec attack` puts in the threat matrix.
import { randomInt } from 'node:crypto';
import { z } from 'zod';
import { UdpPc5Medium } from '../../transport/pc5/udp-medium.js';
import type { Attack } from '../adversary/attack.js';
import { ATTACK_IDS, ATTACKS, type AttackId } from '../adversary/index.js';
import { pc5Sink } from '../runtime/sinks.js';
import type { RoleContext, RoleInstance } from './role.js';

const configSchema = z
  .object({
    attacks: z.array(z.enum(ATTACK_IDS as [AttackId, ...AttackId[]])).min(1),
    groups: z
      .array(z.object({ address: z.string(), port: z.number().int().min(1).max(65535) }).strict())
      .min(1)
      .max(20),
  })
  .strict();

export async function start(ctx: RoleContext): Promise<RoleInstance> {
  const { config, log, metrics } = ctx;
  const cfg = configSchema.parse(config.roleConfig);
  const medium = new UdpPc5Medium({ l2Id: randomInt(1, 0xfffffe), metrics: pc5Sink(metrics) });
  await medium.start();
  metrics.pc5MediumInfo.set({ medium: medium.kind }, 1);
  for (const g of cfg.groups) await medium.joinGroup(g);
  const timers = new Set<NodeJS.Timeout>();
  let active = false;
  let errors = 0;
  const io = {
    send: (group: { address: string; port: number }, frame: Parameters<UdpPc5Medium['sendToGroup']>[1]) => {
      try {
        medium.sendToGroup(group, frame);
      } catch (e) {
        errors++;
        log.warn({ err: (e as Error).message }, 'adversary send failed');
      }
    },
    later: (ms: number, f: () => void) => {
      const t = setTimeout(() => {
        timers.delete(t);
        if (active) f();
      }, ms);
      timers.add(t);
    },
  };
  const attacks = new Map<AttackId, Attack>(cfg.attacks.map((id) => [id, ATTACKS[id](io)]));
  medium.onFrame((frame, meta) => {
    if (!active || !meta.group) return;
    for (const a of attacks.values()) a.onFrame(frame, meta.group);
  });
  log.info({ attacks: cfg.attacks, groups: cfg.groups.length }, 'adversary listening on the PC5 groups');
  return {
    endpoints: { pc5: medium.unicastAddress.port },
    command(name) {
      if (name === 'start-traffic') active = true;
      if (name === 'stop-traffic') active = false;
    },
    status: () => ({
      errors,
      details: {
        adversary: Object.fromEntries([...attacks].map(([id, a]) => [id, a.evidence()])),
      },
    }),
    async stop() {
      active = false;
      for (const t of timers) clearTimeout(t);
      await medium.close();
    },
  };
}
