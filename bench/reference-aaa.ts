// The reference AAA: hostapd's integrated RADIUS server with its EAP-AKA' server, and hlr_auc_gw (Milenage) as
// its HSS/AuC, both from Debian's wpa source (deploy/scripts/build-hostapd-ref.sh). bench:aaa compares our AAA
// with it; tests/interop/hostapd-reference.test.ts runs our EAP-AKA' peer against it. Processes are started and
// stopped by PID; the port is a free one on 127.0.0.1 (found by binding, then handed to hostapd).
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { SubscriberRecord } from '../procedures/eap/hss.js';

export const REFERENCE_DIR = process.env.PROSEC_CACHE_DIR ?? join(homedir(), '.cache', 'prosec');
const HOSTAPD = join(REFERENCE_DIR, 'hostapd');
const HLR = join(REFERENCE_DIR, 'hlr_auc_gw');

/** Why the reference cannot run here, or undefined when it is built. */
export function referenceMissing(): string | undefined {
  return existsSync(HOSTAPD) && existsSync(HLR)
    ? undefined
    : `hostapd/hlr_auc_gw not built in ${REFERENCE_DIR}: run deploy/scripts/build-hostapd-ref.sh as root`;
}

export interface ReferenceAaa {
  port: number;
  pids: number[];
  stop(): Promise<void>;
}

async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Whether some socket is bound to this UDP port (Linux /proc/net/udp, local address column). */
function udpPortBound(port: number): boolean {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return readFileSync('/proc/net/udp', 'utf8')
    .split('\n')
    .some((l) => l.trim().split(/\s+/)[1]?.endsWith(hex));
}

const exited = (c: ChildProcess) => c.exitCode !== null || c.signalCode !== null;

async function stopProcess(c: ChildProcess): Promise<void> {
  if (exited(c)) return;
  await new Promise<void>((r) => {
    const t = setTimeout(() => c.kill('SIGKILL'), 3000);
    c.once('exit', () => {
      clearTimeout(t);
      r();
    });
    c.kill('SIGTERM');
  });
}

/**
 * Starts hlr_auc_gw with the subscribers' Milenage data (SQN 0, AMF 8000: the AKA' separation bit) and hostapd's
 * RADIUS server for EAP-AKA' on the permanent ('6'), pseudonym ('7') and fast re-authentication ('8') identities,
 * pseudonyms and fast re-authentication on (hostapd's default eap_sim_id=3). Files go to `dir`.
 */
export async function startReferenceAaa(
  dir: string,
  subs: SubscriberRecord[],
  secret: string,
): Promise<ReferenceAaa> {
  const missing = referenceMissing();
  if (missing) throw new Error(missing);
  const sock = join(dir, 'hlr.sock');
  // hlr_auc_gw's Milenage file: IMSI Ki OPc AMF SQN, one subscriber a line.
  writeFileSync(
    join(dir, 'milenage.db'),
    subs.map((s) => `${s.imsi} ${s.k} ${s.opc} ${s.amf ?? '8000'} 000000000000\n`).join(''),
  );
  writeFileSync(join(dir, 'eap_user'), ['"6"* AKA\'', '"7"* AKA\'', '"8"* AKA\'', ''].join('\n'));
  writeFileSync(join(dir, 'clients'), `127.0.0.1/32 ${secret}\n`);
  const port = await freeUdpPort();
  writeFileSync(
    join(dir, 'hostapd.conf'),
    [
      'driver=none',
      'interface=prosecref0',
      'logger_stdout=0',
      'logger_syslog=0',
      'eap_server=1',
      `eap_user_file=${join(dir, 'eap_user')}`,
      `eap_sim_db=unix:${sock}`,
      `radius_server_clients=${join(dir, 'clients')}`,
      `radius_server_auth_port=${port}`,
      '',
    ].join('\n'),
  );
  const hlr = spawn(HLR, ['-s', sock, '-m', join(dir, 'milenage.db')], { stdio: 'ignore' });
  for (let i = 0; i < 50 && !existsSync(sock) && !exited(hlr); i++)
    await new Promise((r) => setTimeout(r, 20));
  const hostapd = spawn(HOSTAPD, [join(dir, 'hostapd.conf')], { stdio: 'ignore' });
  const stop = async () => {
    await stopProcess(hostapd);
    await stopProcess(hlr);
  };
  for (let i = 0; i < 250 && !udpPortBound(port) && !exited(hostapd); i++)
    await new Promise((r) => setTimeout(r, 20));
  if (exited(hostapd) || exited(hlr) || !udpPortBound(port)) {
    await stop();
    throw new Error(`reference AAA did not start (hostapd ${hostapd.exitCode}, hlr_auc_gw ${hlr.exitCode})`);
  }
  return { port, pids: [hostapd.pid!, hlr.pid!], stop };
}
