import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { startRollout } from '../../control/deployment-commands.ts';
import { openDuckDb } from '../../domain/duckdb/duckdb-session.ts';
import { quoteString } from '../../domain/features/expression/expression-sql.ts';
import type { ModelRegistry } from '../../domain/registry/model-registry.ts';
import type { Config } from '../../shared/config.ts';
import { startDemoApi } from '../infra/demo-api.ts';

/**
 * The end of the demo: the approved version goes through its deployment workflow (a model's first
 * version is promoted directly; a later one would start a canary that needs traffic, so the demo
 * leaves that to `sluice deploy`), the API starts beside the stack, and one real flight is scored
 * through it with the curl command that did it.
 */

const FLIGHTS = new URL('../../node_modules/vega-datasets/data/flights-3m.parquet', import.meta.url).pathname;

/** A flight of the test weeks, as the API takes it (the columns its feature spec reads), and whether it left late. */
async function aTestFlight(): Promise<{ event: Record<string, unknown>; delay: number }> {
  using duck = await openDuckDb({ tempDirectory: tmpdir() });
  const row = (
    await duck.db.runAndReadAll(
      `SELECT strftime(date, '%Y-%m-%dT%H:%M:%SZ') AS date, distance, origin, destination, delay FROM read_parquet(${quoteString(FLIGHTS)})
       WHERE origin = 'ORD' AND destination = 'LGA' AND date >= TIMESTAMP '2001-06-04 10:00' ORDER BY date LIMIT 1`,
    )
  ).getRowObjectsJson()[0];
  if (!row) throw new Error(`no ORD → LGA flight after 2001-06-04 10:00 in ${FLIGHTS}`);
  return { event: { origin: row.origin, destination: row.destination, date: row.date, distance: Number(row.distance) }, delay: Number(row.delay) };
}

async function waitFor<T>(what: string, timeoutMs: number, attempt: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const done = await attempt();
    if (done !== undefined) return done;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs / 1000} s`);
    await sleep(500);
  }
}

export async function serveFirstPrediction(deps: { client: Client; config: Config; registry: ModelRegistry; say: (line: string) => void }, model: string, version: number, by: string): Promise<void> {
  const { client, config, registry, say } = deps;
  const champion = (await registry.index(model)).aliases.champion;
  if (champion === undefined) {
    say(`deploying ${model} v${version} through its deployment workflow (deploy-${model}): a first version is promoted directly`);
    await startRollout(client, config.taskQueues.pipeline, model, { version, by, reason: 'npm run demo' });
    await waitFor(`v${version} becoming ${model}'s champion`, 120_000, async () => ((await registry.index(model)).aliases.champion === version ? true : undefined));
  } else if (champion !== version) {
    say(`${model} v${champion} is champion; v${version} goes out through a canary, which needs live traffic: npx sluice deploy start ${model} ${version}`);
  }
  const served = champion ?? version;

  const api = await startDemoApi(config, ['predict', 'feedback'], say);
  const { event, delay } = await aTestFlight();
  const body = JSON.stringify({ event });
  const url = `${api.url}/v1/models/${model}/predict`;
  // The API learns of the new champion on its next poll of the serving config.
  const answer = await waitFor(`${url} answering 200`, 60_000, async () => {
    const res = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${api.key}`, 'content-type': 'application/json' }, body });
    return res.ok ? await res.text() : undefined;
  });
  say(`the API serves ${model} v${served} at ${api.url} (it keeps running; npm run infra:down stops it with the stack). One real flight, ORD → LGA, scored:`);
  console.log(`\ncurl -s ${url} -H 'Authorization: Bearer ${api.key}' -H 'Content-Type: application/json' \\\n  -d '${body}'\n${answer}\n`);
  say(`that flight left ${delay > 0 ? `${delay} minutes late` : delay < 0 ? `${-delay} minutes early` : 'on time'} (the model's label: more than 15 minutes late)`);
  say(`the console: ${api.url}/console/models/${model} (sign in with the key above; its predict scope reads every page, approving needs an admin key)`);
}
