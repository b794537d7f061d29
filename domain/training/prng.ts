/**
 * A seeded 32-bit pseudo-random generator (a Weyl sequence stepped by 0x6D2B79F5 and scrambled by two
 * multiply-xorshift rounds). Its whole state is one uint32, so a checkpoint can store it and a resumed
 * run draws exactly the numbers an uninterrupted one would have. Not for cryptography.
 */
/** The Weyl sequence's step: state k draws ahead is state + k · STEP (mod 2^32). */
const STEP = 0x6d2b79f5;

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

  /**
   * The state `draws` draws after `state`. The state only steps by a constant, so a range of draws
   * (rows of a Bernoulli mask) can be made from there on another thread, giving the same numbers.
   */
  static stateAfter(state: number, draws: number): number {
    // Math.imul keeps the product's low 32 bits: draws · STEP mod 2^32, exactly.
    return (state + (Math.imul(draws, STEP) >>> 0)) >>> 0;
  }

  /** Moves on `draws` draws without making them. */
  skip(draws: number): void {
    this.s = Prng.stateAfter(this.s, draws);
  }

  /** Next uint32. */
  nextUint32(): number {
    this.s = (this.s + STEP) >>> 0;
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
    const pairs = mask.length >>> 1;
    fillBernoulliPairs(this.s, rate, mask, 0, pairs);
    this.skip(pairs);
    if (mask.length % 2 === 1) this.fillBernoulliLast(rate, mask);
  }

  /** fillBernoulli's last row of an odd-length mask, drawn after its pairs. */
  fillBernoulliLast(rate: number, mask: Uint8Array): void {
    mask[mask.length - 1] = ((this.nextUint32() & 0xffff) - bernoulliThreshold(rate)) >>> 31;
  }

  /** Uniform integer in [0, n), n ≤ 2^32. */
  nextInt(n: number): number {
    return Math.floor(this.next() * n);
  }
}

const bernoulliThreshold = (rate: number) => Math.round(rate * 65536);

/**
 * Prng.fillBernoulli's draws for the row pairs [fromPair, toPair) of `mask`, from `state`, the
 * generator's state at pair 0 (this range starts fromPair draws after it). nextUint32 is written
 * out on a local copy of the state, and the comparisons as sign bits rather than branches (a row is
 * drawn at random, so a branch would mispredict often): the same draws, a third of the time.
 */
export function fillBernoulliPairs(state: number, rate: number, mask: Uint8Array, fromPair: number, toPair: number): void {
  const threshold = bernoulliThreshold(rate);
  let s = Prng.stateAfter(state, fromPair);
  for (let i = 2 * fromPair; i < 2 * toPair; i += 2) {
    s = (s + STEP) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const bits = (t ^ (t >>> 14)) >>> 0;
    mask[i] = ((bits & 0xffff) - threshold) >>> 31;
    mask[i + 1] = ((bits >>> 16) - threshold) >>> 31;
  }
}
