/**
 * A seeded 32-bit pseudo-random generator (a Weyl sequence stepped by 0x6D2B79F5 and scrambled by two
 * multiply-xorshift rounds). Its whole state is one uint32, so a checkpoint can store it and a resumed
 * run draws exactly the numbers an uninterrupted one would have. Not for cryptography.
 */
export class Prng {
  private s: number;

  constructor(seed: number) {
    // Mix the seed so nearby seeds (1, 2, 3...) do not start on nearby states.
    let x = (seed ^ 0x9e3779b9) >>> 0;
    x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
    x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
    this.s = (x ^ (x >>> 16)) >>> 0;
  }

  static fromState(state: number): Prng {
    const prng = new Prng(0);
    prng.s = state >>> 0;
    return prng;
  }

  get state(): number {
    return this.s;
  }

  /** Next uint32. */
  nextUint32(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /**
   * mask[i] = 1 with probability `rate` (to 1/65536), else 0. Each 32-bit draw decides two rows by
   * its two 16-bit halves: row sampling calls this for millions of rows per tree, so halving the
   * draws matters, and a 1/65536 resolution is far finer than any sampling rate needs.
   */
  fillBernoulli(rate: number, mask: Uint8Array): void {
    // nextUint32 written out on a local copy of the state, and the comparisons as sign bits rather
    // than branches (a row is drawn at random, so a branch would mispredict often): the same draws,
    // a third of the time.
    const threshold = Math.round(rate * 65536);
    const pairs = mask.length >>> 1;
    let s = this.s;
    for (let i = 0; i < 2 * pairs; i += 2) {
      s = (s + 0x6d2b79f5) >>> 0;
      let t = Math.imul(s ^ (s >>> 15), s | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      const bits = (t ^ (t >>> 14)) >>> 0;
      mask[i] = ((bits & 0xffff) - threshold) >>> 31;
      mask[i + 1] = ((bits >>> 16) - threshold) >>> 31;
    }
    this.s = s;
    if (mask.length % 2 === 1) mask[mask.length - 1] = ((this.nextUint32() & 0xffff) - threshold) >>> 31;
  }

  /** Uniform integer in [0, n), n ≤ 2^32. */
  nextInt(n: number): number {
    return Math.floor(this.next() * n);
  }
}
