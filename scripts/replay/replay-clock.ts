/**
 * How the production-shaped replay maps replayed time (the flights' own calendar, 2001) onto the wall
 * clock the product runs on. One replayed day lasts `dayMs` of real time, from `startMs` (the real
 * instant replayed midnight of `firstDay` begins). The product never sees replayed time: its
 * Schedules, prediction log, feedback and monitor windows all run on the wall clock, and a duration
 * meant in replayed time (a 7-day label horizon) is handed to it scaled (`scaleDuration`).
 */

export const DAY_MS = 86_400_000;

export class ReplayClockError extends Error {
  override readonly name = 'ReplayClockError';
}

export interface ReplayClockSettings {
  /** Replayed midnight (UTC) the replay begins at. */
  firstDay: string;
  /** Real instant (epoch ms) replayed `firstDay` starts. */
  startMs: number;
  /** Real milliseconds per replayed day. */
  dayMs: number;
}

export class ReplayClock {
  readonly firstDayMs: number;

  constructor(readonly settings: ReplayClockSettings) {
    this.firstDayMs = Date.parse(settings.firstDay);
    if (!Number.isFinite(this.firstDayMs) || this.firstDayMs % DAY_MS !== 0) throw new ReplayClockError(`firstDay must be a UTC midnight, got "${settings.firstDay}"`);
    if (!(settings.dayMs >= 1000) || !Number.isInteger(settings.dayMs)) throw new ReplayClockError(`a replayed day must last a whole number of milliseconds, at least 1000, got ${settings.dayMs}`);
  }

  /** The real instant a replayed instant happens at. */
  realAt(replayedMs: number): number {
    return this.settings.startMs + ((replayedMs - this.firstDayMs) / DAY_MS) * this.settings.dayMs;
  }

  /** The replayed instant a real one stands for. */
  replayedAt(realMs: number): number {
    return this.firstDayMs + ((realMs - this.settings.startMs) / this.settings.dayMs) * DAY_MS;
  }
}

/** A replayed duration as the product is told it, in the duration grammar (whole milliseconds): `7d` replayed is `35000ms` at 5 s a day. */
export function scaleDuration(replayedMs: number, dayMs: number): string {
  return `${Math.max(1, Math.round((replayedMs / DAY_MS) * dayMs))}ms`;
}

/**
 * The first real instant at or after `notBeforeMs` that lies `phaseMs` past a multiple of `periodMs`.
 * Temporal interval Schedules fire on multiples of their interval since the epoch: starting the replay
 * on such an instant puts the firings on known replayed instants (a monthly schedule at month starts).
 */
export function alignedStart(notBeforeMs: number, periodMs: number, phaseMs: number): number {
  if (!(periodMs > 0)) throw new ReplayClockError(`period must be positive, got ${periodMs}`);
  const phase = ((phaseMs % periodMs) + periodMs) % periodMs;
  const k = Math.ceil((notBeforeMs - phase) / periodMs);
  return k * periodMs + phase;
}

/** Midnights (UTC, epoch ms) of every day in [from, until). */
export function replayedDays(from: string, until: string): number[] {
  const days: number[] = [];
  for (let t = Date.parse(from); t < Date.parse(until); t += DAY_MS) days.push(t);
  return days;
}

/** When a flight's outcome is known: at its scheduled departure plus its delay (an early departure is known when it leaves, not before it was scheduled). */
export function labelKnownAt(departureMs: number, delayMinutes: number): number {
  return departureMs + Math.max(0, delayMinutes) * 60_000;
}
