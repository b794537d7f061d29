/**
 * A token bucket: `burst` tokens, refilled at `perSecond`. Refill is computed from elapsed time on
 * each take, so an idle bucket costs nothing and no timer runs.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = burst;
    this.last = now();
  }

  /** Whether this bucket enforces exactly that limit (so a reloaded keys file can keep it, tokens and all). */
  hasLimit(perSecond: number, burst: number): boolean {
    return this.perSecond === perSecond && this.burst === burst;
  }

  /** Takes one token: 0 when allowed, otherwise the seconds until one is available. */
  take(): number {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return (1 - this.tokens) / this.perSecond;
  }
}
