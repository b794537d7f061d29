import { z } from 'zod';

/**
 * The one duration grammar of specs, schedules and CLI options: a number and a unit, short or
 * spelled out (`90s`, `15m`, `1.5h`, `7d`, `30 seconds`, `2 hours`). Every form is also a Temporal
 * duration string, so a value that passes here can be handed to Temporal as it is. Workflows import
 * this module: it stays free of Node builtins.
 */
const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1, millisecond: 1, milliseconds: 1,
  s: 1000, second: 1000, seconds: 1000,
  m: 60_000, minute: 60_000, minutes: 60_000,
  h: 3_600_000, hour: 3_600_000, hours: 3_600_000,
  d: 86_400_000, day: 86_400_000, days: 86_400_000,
};
const DURATION = /^(\d+(?:\.\d+)?)\s*([a-z]+)$/;
const EXPECTED = 'expected a duration such as 90s, 15m, 7d or "2 hours"';

/** Milliseconds of a duration string; undefined if it is not one. */
export function parseDurationMs(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  const factor = match?.[2] === undefined ? undefined : UNIT_MS[match[2]];
  return match && factor !== undefined ? Number(match[1]) * factor : undefined;
}

/** Milliseconds of a duration string already known to be one (checked by `durationSchema`); throws on anything else. */
export function durationMs(text: string): number {
  const ms = parseDurationMs(text);
  if (ms === undefined) throw new Error(`${EXPECTED}, got "${text}"`);
  return ms;
}

export const durationSchema = z.string().refine((text) => parseDurationMs(text) !== undefined, EXPECTED);
