// AAA role: RADIUS server (RFC 2865/3579) on loopback UDP running the EAP-AKA' server (RFC 5448/9048) against an
// HSS-style subscriber store (Milenage vectors, SQN_HE persisted to a state file so a restart keeps SQN state).
// The MSK goes back to the authenticator in MS-MPPE-Recv/Send-Key (RFC 2548).
import { createSocket } from 'node:dgram';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { EapAkaPrimeServer } from '../../procedures/eap/eap-aka-prime-server.js';
import { Hss } from '../../procedures/eap/hss.js';
import { RadiusAaa } from '../../procedures/eap/radius-aaa.js';
import type { RoleContext, RoleInstance } from './role.js';

const hex = (n: number) => z.string().regex(new RegExp(`^[0-9a-fA-F]{${n}}$`));

export const aaaConfigSchema = z
  .object({
    /** UDP port for RADIUS authentication (0: any free port, reported as endpoint `radius`). */
    port: z.number().int().min(0).max(65535).default(0),
    /** RADIUS shared secret (never logged). */
    secret: z.string().min(1),
    /** Access network name for AT_KDF_INPUT (RFC 5448 3.1). */
    networkName: z.string().min(1).default('WLAN'),
    /** Start every authentication with AKA'-Identity AT_ANY_ID_REQ. */
    requestIdentity: z.boolean().default(false),
    issuePseudonyms: z.boolean().default(true),
    /** Fast re-authentications per full authentication (RFC 4187 5); 0 disables. */
    maxFastReauths: z.number().int().min(0).max(1000).default(16),
    subscribers: z.array(
      z
        .object({
          imsi: z.string().regex(/^[0-9]{6,15}$/),
          k: hex(32),
          opc: hex(32),
          amf: hex(4).optional(),
          seq: z.number().int().min(0).optional(),
        })
        .strict(),
    ),
    /** SQN_HE state file (default runs/<run>/<id>-hss.json). */
    stateFile: z.string().optional(),
  })
  .strict();

/** On restart SEQ_HE jumps by this much over the persisted value, covering vectors issued after the last save. */
const RESTART_SEQ_MARGIN = 1000;

export async function start(ctx: RoleContext): Promise<RoleInstance> {
  const { config, log, metrics } = ctx;
  const cfg = aaaConfigSchema.parse(config.roleConfig);
  const hss = new Hss(cfg.subscribers);
  const stateFile = cfg.stateFile ?? join(config.runDir, `${config.id}-hss.json`);
  if (existsSync(stateFile)) {
    const saved = JSON.parse(readFileSync(stateFile, 'utf8')) as Record<string, [number, number]>;
    hss.restore(
      Object.fromEntries(
        Object.entries(saved).map(([k, [seq, ind]]) => [k, [seq + RESTART_SEQ_MARGIN, ind]]),
      ),
    );
    log.info({ stateFile, subscribers: Object.keys(saved).length }, 'restored SQN_HE state');
  }
  let dirty = true;
  const save = () => {
    if (!dirty) return;
    dirty = false;
    writeFileSync(`${stateFile}.tmp`, JSON.stringify(hss.snapshot()));
    renameSync(`${stateFile}.tmp`, stateFile);
  };
  save();
  const persistTimer = setInterval(save, 250);

  const eap = new EapAkaPrimeServer(
    {
      networkName: cfg.networkName,
      requestIdentity: cfg.requestIdentity,
      issuePseudonyms: cfg.issuePseudonyms,
      maxFastReauths: cfg.maxFastReauths,
    },
    hss,
  );
  const aaa = new RadiusAaa(eap, new TextEncoder().encode(cfg.secret));
  const counts = { accept: 0, reject: 0, challenge: 0, duplicate: 0, dropped: 0 };
  const rejectCauses: Record<string, number> = {};
  const dropReasons: Record<string, number> = {};

  const socket = createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
  socket.on('message', (msg, rinfo) => {
    let r: ReturnType<RadiusAaa['handle']>;
    try {
      r = aaa.handle(
        new Uint8Array(msg.buffer, msg.byteOffset, msg.length),
        `${rinfo.address}:${rinfo.port}`,
        performance.now(),
      );
    } catch (e) {
      // Never crash on input: count it, log without packet contents.
      counts.dropped++;
      metrics.radiusDropped.inc({ reason: 'internal_error' });
      log.error({ err: (e as Error).message }, 'RADIUS request handling failed');
      return;
    }
    const ev = r.event;
    if (ev.kind === 'drop') {
      counts.dropped++;
      dropReasons[ev.reason] = (dropReasons[ev.reason] ?? 0) + 1;
      metrics.radiusDropped.inc({ reason: ev.reason });
    } else {
      metrics.radiusPackets.inc({ outcome: ev.kind });
      counts[ev.kind]++;
      if (ev.kind === 'accept' || ev.kind === 'challenge') dirty = true;
      if (ev.kind === 'accept') {
        metrics.eapAuthResults.inc({ result: 'success', cause: 'none', method: ev.method });
        metrics.keySetupSeconds.observe(
          { procedure: 'eap_aka_prime', method: 'aaa_server', result: 'ok' },
          ev.seconds,
        );
      } else if (ev.kind === 'reject') {
        rejectCauses[ev.cause] = (rejectCauses[ev.cause] ?? 0) + 1;
        metrics.eapAuthResults.inc({ result: 'failure', cause: ev.cause });
        log.info({ cause: ev.cause, client: rinfo.port }, 'Access-Reject');
      }
    }
    if (r.reply) socket.send(r.reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((res, rej) => {
    socket.once('error', rej);
    socket.bind(config.ports?.radius || cfg.port, config.host, () => res());
  });
  socket.on('error', (e) => log.warn({ err: e.message }, 'RADIUS socket error'));
  const port = socket.address().port;
  log.info(
    { port, subscribers: cfg.subscribers.length, networkName: cfg.networkName },
    "AAA (RADIUS/EAP-AKA') listening",
  );

  return {
    endpoints: { radius: port },
    status: () => ({
      errors: 0,
      details: {
        ...counts,
        rejectCauses,
        dropReasons,
        vectors: hss.vectors,
        resyncs: hss.resyncs,
        liveSessions: aaa.liveSessions,
      },
    }),
    stop: async () => {
      clearInterval(persistTimer);
      save();
      await new Promise<void>((res) => socket.close(() => res()));
    },
  };
}
