// Registration DoS protection at the ProSe Function (TR 33.833 key issue #2.5), sans-I/O: a token bucket per
// source (a source address before the TLS handshake, a certified identity per request), a penalty for requests
// that fail (unsubscribed or misbehaving sources drain their bucket faster), a bounded source table (least
// recently seen sources are forgotten first) and a ban period for sources that keep hammering while empty.
// The check is a map lookup and some arithmetic: it runs before any expensive work (handshake, policy, crypto).

export interface ThrottleOptions {
  /** Sustained admissions per second per source. */
  ratePerSecond: number;
  /** Bucket size: admissions a fresh source may make at once. */
  burst: number;
  /** Tokens a failed request costs on top of the one it used (misbehaviour penalty). */
  failurePenalty?: number;
  /** Refusals in a row (bucket empty) after which the source is banned. */
  banAfterRefusals?: number;
  banMs?: number;
  /** Sources remembered at once (bounded memory under a flood of spoofed/fresh sources). */
  maxSources?: number;
}

interface Bucket {
  tokens: number;
  lastMs: number;
  refusals: number;
  bannedUntilMs: number;
}

export type ThrottleDecision = { ok: true } | { ok: false; cause: 'rate_limited' | 'banned' };

export class RegistrationThrottle {
  private readonly buckets = new Map<string, Bucket>();
  admitted = 0;
  refused = 0;
  evicted = 0;

  constructor(private readonly opts: ThrottleOptions) {}

  /** Decides whether `source` may go on; charges one token when it may. */
  admit(source: string, nowMs: number): ThrottleDecision {
    const b = this.touch(source, nowMs);
    if (b.bannedUntilMs > nowMs) {
      this.refused++;
      return { ok: false, cause: 'banned' };
    }
    if (b.tokens < 1) {
      b.refusals++;
      this.refused++;
      const banAfter = this.opts.banAfterRefusals ?? 0;
      if (banAfter > 0 && b.refusals >= banAfter) {
        b.bannedUntilMs = nowMs + (this.opts.banMs ?? 10_000);
        b.refusals = 0;
        return { ok: false, cause: 'banned' };
      }
      return { ok: false, cause: 'rate_limited' };
    }
    b.tokens -= 1;
    b.refusals = 0;
    this.admitted++;
    return { ok: true };
  }

  /** Records that an admitted request failed (unknown UE, identity mismatch, bad ALUID...). */
  penalize(source: string, nowMs: number): void {
    const b = this.touch(source, nowMs);
    b.tokens -= this.opts.failurePenalty ?? 0;
  }

  get sources(): number {
    return this.buckets.size;
  }

  private touch(source: string, nowMs: number): Bucket {
    let b = this.buckets.get(source);
    if (b) {
      this.buckets.delete(source); // re-insert: Map order = least recently seen first
      const elapsed = Math.max(0, nowMs - b.lastMs) / 1000;
      b.tokens = Math.min(this.opts.burst, b.tokens + elapsed * this.opts.ratePerSecond);
      b.lastMs = nowMs;
    } else {
      b = { tokens: this.opts.burst, lastMs: nowMs, refusals: 0, bannedUntilMs: 0 };
      const max = this.opts.maxSources ?? 100_000;
      while (this.buckets.size >= max) {
        const oldest = this.buckets.keys().next().value as string;
        this.buckets.delete(oldest);
        this.evicted++;
      }
    }
    this.buckets.set(source, b);
    return b;
  }
}
