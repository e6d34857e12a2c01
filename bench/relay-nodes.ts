// Helpers for the relay/AAA benchmarks: start real node processes (aaa, network, relay) and stop them by PID.
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SqnArray } from '../crypto-core/aka-sqn.js';
import { fromHex } from '../crypto-core/bytes.js';
import { Milenage } from '../crypto-core/milenage.js';
import { EapAkaPrimePeer } from '../procedures/eap/eap-aka-prime-peer.js';
import { EapAkaPrimeServer } from '../procedures/eap/eap-aka-prime-server.js';
import { Hss, type SubscriberRecord } from '../procedures/eap/hss.js';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'nodes', 'main.js');
export const runDir = mkdtempSync(join(tmpdir(), 'prosec-bench-relay-'));

export interface BenchNode {
  child: ChildProcess;
  endpoints: Record<string, number>;
  metricsPort: number;
}

const started: ChildProcess[] = [];

export function startNode(role: string, id: string, roleConfig: unknown): Promise<BenchNode> {
  const config = { v: 1, runId: 'bench', role, id, runDir, processMetrics: false, roleConfig };
  const child = fork(MAIN, [], {
    env: { ...process.env, PROSEC_NODE_CONFIG: JSON.stringify(config) },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  started.push(child);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${id} not ready`)), 30_000);
    child.on('message', (m: { t: string; endpoints?: Record<string, number>; metricsPort?: number }) => {
      if (m.t === 'ready') {
        clearTimeout(t);
        resolve({ child, endpoints: m.endpoints!, metricsPort: m.metricsPort! });
      }
    });
    child.once('exit', (c) => reject(new Error(`${id} exited ${c}`)));
  });
}

/** SIGTERM every node this benchmark started (by PID), SIGKILL after 3 s. */
export async function stopNodes(): Promise<void> {
  await Promise.all(
    started.map(
      (c) =>
        new Promise<void>((r) => {
          if (c.exitCode !== null || c.signalCode !== null) return r();
          const t = setTimeout(() => c.kill('SIGKILL'), 3000);
          c.once('exit', () => {
            clearTimeout(t);
            r();
          });
          c.kill('SIGTERM');
        }),
    ),
  );
}

export function subscribers(n: number): SubscriberRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    imsi: `00101${String(i + 1).padStart(10, '0')}`,
    k: randomBytes(16).toString('hex'),
    opc: randomBytes(16).toString('hex'),
  }));
}

export function peerFor(s: SubscriberRecord, fastReauth = false): EapAkaPrimePeer {
  return new EapAkaPrimePeer({
    permanentIdentity: `6${s.imsi}@wlan.mnc001.mcc001.3gppnetwork.org`,
    usim: new Milenage(fromHex(s.k), fromHex(s.opc)),
    sqn: new SqnArray(),
    usePseudonym: false,
    useFastReauth: fastReauth,
  });
}

/** One full EAP-AKA' authentication between a server and a peer in one process, no sockets (the baseline). */
export function inProcessAuth(server: EapAkaPrimeServer, peer: EapAkaPrimePeer): boolean {
  peer.reset();
  const s = server.newSession(0);
  let up = peer.receive(Uint8Array.of(1, 1, 0, 5, 1));
  for (let i = 0; i < 6 && up.kind === 'response'; i++) {
    const o = s.receive(up.packet, 0);
    if (o.kind === 'success') return peer.receive(o.packet).kind === 'success';
    if (o.kind !== 'request') return false;
    up = peer.receive(o.packet);
  }
  return false;
}

export function inProcessServer(subs: SubscriberRecord[]): EapAkaPrimeServer {
  return new EapAkaPrimeServer({ networkName: 'WLAN', issuePseudonyms: false }, new Hss(subs));
}
