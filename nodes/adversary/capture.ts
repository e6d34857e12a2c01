// A passive capture point for the adversary (docs/threat-matrix.md): one-to-one PC5 traffic is unicast UDP between
// two UE processes, which no other process receives, so the adversary taps the loopback interface with a real
// capture tool (dumpcap or tshark from Wireshark, or tcpdump), filtered on the run's PC5 unicast ports, and reads
// the libpcap stream the tool writes on stdout. Needs CAP_NET_RAW (root). The capture is bounded in time and
// packets and stopped (by its PID) when the adversary stops.
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

const TOOLS = ['dumpcap', 'tshark', 'tcpdump'] as const;
export type CaptureTool = (typeof TOOLS)[number];

/** The first capture tool on PATH, or undefined (the attacks that need one are skipped, with this reason). */
export function findCaptureTool(
  path = process.env.PATH ?? '',
): { tool: CaptureTool; file: string } | undefined {
  for (const tool of TOOLS) {
    for (const dir of path.split(delimiter).filter(Boolean)) {
      const file = join(dir, tool);
      try {
        accessSync(file, constants.X_OK);
        return { tool, file };
      } catch {
        /* not here */
      }
    }
  }
  return undefined;
}

export const NO_CAPTURE_TOOL =
  'no packet capture tool (dumpcap, tshark or tcpdump) on PATH: deploy/scripts/install-system-deps.sh installs tshark';

/** Command-line arguments: loopback, BPF filter on the UDP ports, libpcap format on stdout, bounded. */
export function captureArgs(
  tool: CaptureTool,
  ports: number[],
  maxSeconds: number,
  maxPackets: number,
): string[] {
  const filter = `udp and (${ports.map((p) => `port ${p}`).join(' or ')})`;
  switch (tool) {
    case 'dumpcap':
    case 'tshark':
      // libpcap output, not pcapng (dumpcap -P, tshark -F pcap); -q: no packet counts on stderr.
      return [
        '-i',
        'lo',
        ...(tool === 'dumpcap' ? ['-P'] : ['-F', 'pcap']),
        '-q',
        '-f',
        filter,
        '-a',
        `duration:${maxSeconds}`,
        '-c',
        `${maxPackets}`,
        '-w',
        '-',
      ];
    case 'tcpdump':
      // -U: write each packet as it arrives.
      return ['-i', 'lo', '-U', '-n', '-c', `${maxPackets}`, '-w', '-', filter];
  }
}

export interface CapturedUdp {
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
}

/** Link-layer header lengths of the link types a loopback capture may have. */
const LINK_HEADER: Record<number, number> = { 0: 4, 1: 14, 101: 0, 113: 16, 276: 20 };

/**
 * Incremental libpcap stream parser (the classic format of tcpdump/dumpcap -P): global header, then per packet a
 * 16-octet record header and the captured octets. Yields the UDP payloads of IPv4 packets; anything else (other
 * link types, IPv6, fragments, truncated captures) is counted as `skipped`. Malformed streams stop the parser.
 */
export class PcapUdpParser {
  private buf: Buffer = Buffer.alloc(0);
  private little: boolean | undefined;
  private linkHeader: number | undefined;
  packets = 0;
  skipped = 0;
  error: string | undefined;

  constructor(private readonly onUdp: (u: CapturedUdp) => void) {}

  push(chunk: Uint8Array): void {
    if (this.error) return;
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : Buffer.from(chunk);
    if (this.little === undefined) {
      if (this.buf.length < 24) return;
      const magic = this.buf.readUInt32LE(0);
      if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) this.little = true;
      else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) this.little = false;
      else {
        this.error = 'not a libpcap stream';
        return;
      }
      const link = this.u32(20) & 0x0fffffff;
      this.linkHeader = LINK_HEADER[link];
      if (this.linkHeader === undefined) {
        this.error = `unsupported link type ${link}`;
        return;
      }
      this.buf = this.buf.subarray(24);
    }
    while (this.buf.length >= 16) {
      const incl = this.u32(8);
      if (incl > 262_144) {
        this.error = 'record larger than 256 KiB';
        return;
      }
      if (this.buf.length < 16 + incl) return;
      this.packets++;
      this.packet(this.buf.subarray(16, 16 + incl));
      this.buf = this.buf.subarray(16 + incl);
    }
  }

  private u32(at: number): number {
    return this.little ? this.buf.readUInt32LE(at) : this.buf.readUInt32BE(at);
  }

  private packet(p: Buffer): void {
    const ip = this.linkHeader!;
    if (p.length < ip + 20 || p[ip]! >> 4 !== 4) return void this.skipped++;
    const ihl = (p[ip]! & 0x0f) * 4;
    const totalLength = p.readUInt16BE(ip + 2);
    const fragment = p.readUInt16BE(ip + 6) & 0x3fff; // MF flag or a fragment offset
    if (p[ip + 9] !== 17 || fragment !== 0 || ihl < 20 || p.length < ip + totalLength)
      return void this.skipped++;
    const udp = ip + ihl;
    const udpLength = p.readUInt16BE(udp + 4);
    if (udpLength < 8 || udp + udpLength > ip + totalLength) return void this.skipped++;
    this.onUdp({
      srcPort: p.readUInt16BE(udp),
      dstPort: p.readUInt16BE(udp + 2),
      payload: p.subarray(udp + 8, udp + udpLength),
    });
  }
}

export interface LoopbackCapture {
  tool: CaptureTool;
  parser: PcapUdpParser;
  /** Set when the tool could not be started or exited with an error before stop(). */
  failure(): string | undefined;
  stop(): Promise<void>;
}

/** Starts the capture; `ready` resolves once the tool has written the libpcap header (it is then capturing). */
export function startLoopbackCapture(
  ports: number[],
  onUdp: (u: CapturedUdp) => void,
  opts: { maxSeconds?: number; maxPackets?: number; readyTimeoutMs?: number } = {},
): { capture: LoopbackCapture; ready: Promise<void> } | undefined {
  const found = findCaptureTool();
  if (!found || ports.length === 0) return undefined;
  const parser = new PcapUdpParser(onUdp);
  const child: ChildProcess = spawn(
    found.file,
    captureArgs(found.tool, ports, opts.maxSeconds ?? 900, opts.maxPackets ?? 1_000_000),
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let failure: string | undefined;
  let stopping = false;
  let stderr = '';
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      if (!stopping && code !== 0)
        failure ??= `${found.tool} exited (${code ?? signal}): ${stderr.trim().slice(-300)}`;
      resolve();
    });
  });
  child.once('error', (e) => {
    failure ??= `${found.tool} could not start: ${e.message}`;
  });
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString('utf8')).slice(-2000);
  });
  const ready = new Promise<void>((resolve) => {
    const t = setTimeout(resolve, opts.readyTimeoutMs ?? 5000);
    const onData = (d: Buffer) => {
      parser.push(d);
      if (parser.error) failure ??= `capture stream: ${parser.error}`;
    };
    child.stdout!.once('data', () => {
      clearTimeout(t);
      resolve();
    });
    child.stdout!.on('data', onData);
    void exited.then(() => {
      clearTimeout(t);
      resolve();
    });
  });
  return {
    capture: {
      tool: found.tool,
      parser,
      failure: () => failure,
      async stop() {
        stopping = true;
        if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
          child.kill('SIGTERM');
          const t = setTimeout(() => child.kill('SIGKILL'), 2000);
          await exited;
          clearTimeout(t);
        }
      },
    },
    ready,
  };
}
