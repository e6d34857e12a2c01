// A small pool of worker threads for the CPU-heavy identity-based crypto (SAKKE, ECCSI) so that nodes keep
// their event loop free. Jobs go to the least-busy worker; results come back as transferred Uint8Arrays.
import { Worker } from 'node:worker_threads';
import { CryptoInputError } from '../crypto-core/errors.js';

export type CryptoOp = 'sakke.encapsulate' | 'sakke.decapsulate' | 'eccsi.sign' | 'eccsi.verify';

/** Arguments per operation (all octet strings, as the crypto-core functions take them). */
export interface CryptoOpArgs {
  'sakke.encapsulate': { ssv: Uint8Array; id: Uint8Array; zS: Uint8Array };
  'sakke.decapsulate': { encapsulated: Uint8Array; id: Uint8Array; rsk: Uint8Array; zS: Uint8Array };
  'eccsi.sign': { message: Uint8Array; id: Uint8Array; ssk: Uint8Array; pvt: Uint8Array; kpak: Uint8Array };
  'eccsi.verify': { message: Uint8Array; signature: Uint8Array; id: Uint8Array; kpak: Uint8Array };
}

/** Keys whose precomputed tables each worker builds up front (see warm()). */
export interface WarmKeys {
  zS?: Uint8Array;
  rsk?: Uint8Array;
  kpak?: Uint8Array;
}

interface Pending {
  resolve: (v: Uint8Array) => void;
  reject: (e: Error) => void;
  worker: number;
}

export class CryptoPool {
  private readonly workers: Worker[] = [];
  private readonly busy: number[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  constructor(size = 1) {
    if (!Number.isInteger(size) || size < 1 || size > 64) throw new RangeError('pool size must be 1..64');
    for (let i = 0; i < size; i++) {
      const w = new Worker(new URL('./crypto-worker.js', import.meta.url));
      w.on(
        'message',
        (m: { id: number; result?: Uint8Array; error?: { name: string; code?: string; message: string } }) =>
          this.settle(i, m),
      );
      w.on('error', (e) => this.failWorker(i, e));
      w.on('exit', (code) => {
        this.busy[i] = Number.POSITIVE_INFINITY; // never chosen again
        if (!this.closed) this.failWorker(i, new Error(`crypto worker ${i} exited with code ${code}`));
      });
      this.workers.push(w);
      this.busy.push(0);
    }
  }

  get size(): number {
    return this.workers.length;
  }

  /** Jobs sent and not yet answered. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Runs one operation on the least-busy worker. verify resolves to one octet: 1 valid, 0 invalid. */
  run<K extends CryptoOp>(op: K, args: CryptoOpArgs[K]): Promise<Uint8Array> {
    return this.post(op, args as unknown as Record<string, Uint8Array>);
  }

  /** Makes every worker build its precomputed tables (parameter set, and the given keys) now. */
  async warm(keys: WarmKeys = {}): Promise<void> {
    await Promise.all(this.workers.map((_, i) => this.post('warm', keys as Record<string, Uint8Array>, i)));
  }

  /** Terminates every worker; jobs still in flight are rejected. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const [id, p] of this.pending) {
      p.reject(new Error('crypto pool closed'));
      this.pending.delete(id);
    }
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private post(op: string, args: Record<string, Uint8Array>, worker?: number): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new Error('crypto pool closed'));
    let wi = worker ?? 0;
    if (worker === undefined)
      for (let i = 1; i < this.busy.length; i++) if (this.busy[i]! < this.busy[wi]!) wi = i;
    if (this.busy[wi] === Number.POSITIVE_INFINITY) return Promise.reject(new Error('crypto worker exited'));
    const id = this.nextId++;
    return new Promise<Uint8Array>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, worker: wi });
      this.busy[wi]!++;
      this.workers[wi]!.postMessage({ id, op, args });
    });
  }

  private settle(
    worker: number,
    m: { id: number; result?: Uint8Array; error?: { name: string; code?: string; message: string } },
  ): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    this.busy[worker]!--;
    if (m.error) {
      p.reject(
        m.error.name === 'CryptoInputError'
          ? new CryptoInputError(m.error.code ?? 'unknown', m.error.message)
          : new Error(m.error.message),
      );
    } else p.resolve(m.result!);
  }

  private failWorker(worker: number, e: Error): void {
    for (const [id, p] of this.pending) {
      if (p.worker !== worker) continue;
      this.pending.delete(id);
      this.busy[worker]!--;
      p.reject(e);
    }
  }
}
