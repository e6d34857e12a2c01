// Capture files for tests that hand our wire formats to tshark: Ethernet/IPv4/UDP frames in a classic
// libpcap file, written to disk and read by tshark (no traffic is sent anywhere).
import { spawnSync } from 'node:child_process';
import { concatBytes } from '../../crypto-core/bytes.js';

/** True when the tshark binary runs here. */
export function hasTshark(): boolean {
  return spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;
}

const u16 = (v: number) => Uint8Array.of(v >>> 8, v & 0xff);
const u32le = (v: number) => Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);

/** Ethernet II / IPv4 / UDP frame from 127.0.0.1 to 127.0.0.1 (UDP checksum 0: allowed for IPv4). */
export function udpFrame(payload: Uint8Array, sport: number, dport: number): Uint8Array {
  const udp = concatBytes(u16(sport), u16(dport), u16(8 + payload.length), u16(0), payload);
  const ip = concatBytes(
    Uint8Array.of(0x45, 0),
    u16(20 + udp.length),
    u16(1),
    u16(0x4000),
    Uint8Array.of(64, 17),
    u16(0),
    Uint8Array.of(127, 0, 0, 1, 127, 0, 0, 1),
  );
  let s = 0;
  for (let i = 0; i < ip.length; i += 2) s += (ip[i]! << 8) | ip[i + 1]!;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  ip[10] = (~s >>> 8) & 0xff;
  ip[11] = ~s & 0xff;
  return concatBytes(Uint8Array.of(2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1), u16(0x0800), ip, udp);
}

/** Classic libpcap file (magic a1b2c3d4, little-endian, LINKTYPE_ETHERNET), one frame per second. */
export function pcapFile(frames: Uint8Array[]): Uint8Array {
  const parts = [
    concatBytes(u32le(0xa1b2c3d4), Uint8Array.of(2, 0, 4, 0), u32le(0), u32le(0), u32le(65535), u32le(1)),
  ];
  frames.forEach((f, i) => {
    parts.push(concatBytes(u32le(1_700_000_000 + i), u32le(0), u32le(f.length), u32le(f.length), f));
  });
  return concatBytes(...parts);
}
