import { homedir } from 'node:os';
import { configSchema } from '../shared/config.ts';

/**
 * The README's settings table, generated from the config schema so the two cannot drift
 * (test/unit/readme.test.ts compares them). Run `npx tsx scripts/settings-table.ts` after changing
 * shared/config.ts and paste the output into the README.
 */
export function settingsTable(): string {
  const defaults = configSchema.parse({});
  const rows = Object.entries(configSchema.shape).map(([key, schema]) => {
    const value = defaults[key as keyof typeof defaults];
    const shown = value === undefined ? '(unset)' : `\`${String(value).replace(homedir(), '~')}\``;
    return `| \`${key}\` | ${shown} | ${schema.description ?? ''} |`;
  });
  return ['| setting | default | meaning |', '| --- | --- | --- |', ...rows].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(settingsTable());
