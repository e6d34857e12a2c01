// Datagrams the kernel dropped because a receive buffer of THIS process was full: the losses a UDP
// application cannot see itself. Read from /proc/net/udp{,6} (the `drops` column) for the socket inodes
// this process holds (/proc/self/fd). Linux only; elsewhere it reads 0.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

function ownSocketInodes(): Set<string> {
  const out = new Set<string>();
  let fds: string[];
  try {
    fds = readdirSync('/proc/self/fd');
  } catch {
    return out;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (m) out.add(m[1]!);
    } catch {
      /* fd closed meanwhile */
    }
  }
  return out;
}

/** Sum of the kernel's drop counters over this process's UDP sockets. */
export function ownUdpDrops(): number {
  const inodes = ownSocketInodes();
  if (inodes.size === 0) return 0;
  let drops = 0;
  for (const table of ['/proc/net/udp', '/proc/net/udp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
      if (cols.length >= 13 && inodes.has(cols[9]!)) drops += Number(cols[12]) || 0;
    }
  }
  return drops;
}
