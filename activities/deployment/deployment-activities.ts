import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../../shared/config.ts';
import type { HealthFigures } from '../../shared/deployment.ts';
import { asFailure, kindFailure } from '../../shared/failure.ts';
import { ModelNotFoundError, ModelRegistry } from '../../domain/registry/model-registry.ts';
import { type ArtifactStore, ObjectNotFoundError, PreconditionFailedError } from '../../domain/object-store/artifact-store.ts';
import { SERVING_CONFIG_KEY, type ServingConfig, servingConfigSchema } from '../../shared/serving-config.ts';
import type { DeploymentActivities } from './contract.ts';
import { measureRolloutHealth } from '../../domain/deployment/rollout-health.ts';

const MAX_ATTEMPTS = 20;

/** Keys in the reports bucket for rollouts. */
export const rolloutReportKeys = {
  shadow: (model: string, candidate: number, at: string) => `deployments/${model}/v${candidate}/shadow-${at.replace(/[:.]/g, '-')}.json`,
} as const;

/** The deployment workflow's activities over the object store: serving config, registry, prediction logs. */
export function createDeploymentActivities(deps: {
  store: ArtifactStore;
  buckets: Config['buckets'];
  clock?: () => Date;
  /** Creates, unpauses or pauses the model's feature refresh Schedule (a Temporal client call the worker wires in). */
  followServedModel?: (model: string) => Promise<{ scheduleId: string; paused: boolean } | null>;
}): DeploymentActivities {
  const { store, buckets } = deps;
  const clock = deps.clock ?? (() => new Date());
  const registry = new ModelRegistry(store, buckets.models, clock);

  async function readServingConfig(): Promise<{ config: ServingConfig | undefined; etag: string | undefined }> {
    let body: Buffer;
    try {
      body = await store.get(buckets.serving, SERVING_CONFIG_KEY);
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return { config: undefined, etag: undefined };
      throw err;
    }
    // The etag of the bytes we parsed (single-part S3 objects: MD5), so the conditional write is tied to this state.
    return { config: servingConfigSchema.parse(JSON.parse(body.toString())), etag: createHash('md5').update(body).digest('hex') };
  }

  return {
    async loadDeploymentContext({ model }) {
      const [{ config }, champion] = await Promise.all([
        readServingConfig(),
        registry.index(model).then(
          (index) => index.aliases.champion,
          (err: unknown) => {
            if (err instanceof ModelNotFoundError) return undefined;
            throw err;
          },
        ),
      ]);
      const routes = config?.models[model];
      return { ...(champion !== undefined && { champion }), ...(routes && { routes }) };
    },

    async writeModelRoutes({ model, routes, by, reason }) {
      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        const { config, etag } = await readServingConfig();
        const models = { ...config?.models };
        if (routes === null) delete models[model];
        else models[model] = routes;
        const next = servingConfigSchema.parse({
          kind: 'sluice.serving-config',
          revision: (config?.revision ?? 0) + 1,
          updatedAt: clock().toISOString(),
          updatedBy: by,
          reason,
          models,
        });
        try {
          await store.put(buckets.serving, SERVING_CONFIG_KEY, JSON.stringify(next, null, 2), {
            contentType: 'application/json',
            onlyIf: etag === undefined ? { absent: true } : { etag },
          });
          return { revision: next.revision };
        } catch (err) {
          if (!(err instanceof PreconditionFailedError)) throw err;
          await sleep(Math.random() * 20 * attempt);
        }
      }
      throw new Error(`Gave up writing ${SERVING_CONFIG_KEY} after ${MAX_ATTEMPTS} conflicting writes`);
    },

    async recordRolloutStatus({ model, version, action, by, reason, replaces }) {
      try {
        const view = await registry.view(model, version);
        if (action === 'canary') {
          if (view.status !== 'canary') await registry.transition(model, version, 'canary', { by, reason });
          if (!view.aliases.includes('challenger')) await registry.setAlias(model, 'challenger', version, { by, reason });
        } else if (action === 'restore') {
          const { champion } = (await registry.index(model)).aliases;
          if (champion === version) return;
          if (champion !== replaces) {
            throw kindFailure(
              'RegistryRefused',
              `The registry's champion of ${model} is ${champion === undefined ? 'none' : `v${champion}`}, not v${replaces}: it was changed outside the deployment workflow; start a rollout of the version that should serve instead`,
              { champion, expected: replaces },
            );
          }
          await registry.promote(model, version, { by, reason, demoteTo: 'rolled-back' });
        } else if (action === 'promote') {
          if (view.status !== 'production' || !view.aliases.includes('champion')) await registry.promote(model, version, { by, reason });
        } else {
          if (view.status !== 'rolled-back') await registry.transition(model, version, 'rolled-back', { by, reason });
          const index = await registry.index(model);
          if (index.aliases.challenger === version) await registry.setAlias(model, 'challenger', null, { by, reason: `rolled back: ${reason}` });
        }
      } catch (err) {
        throw asFailure(err);
      }
    },

    async measureRolloutHealth(input): Promise<HealthFigures> {
      // Each version's log columns and labels are read as its own kind says.
      const [candidate, champion] = await Promise.all([registry.manifest(input.model, input.candidate), registry.manifest(input.model, input.champion)]).catch((err: unknown) => {
        throw asFailure(err);
      });
      const dir = await mkdtemp(join(tmpdir(), 'sluice-rollout-'));
      try {
        return await measureRolloutHealth({ store, bucket: buckets.predictions, dir, now: clock() }, { ...input, tasks: { candidate: candidate.task, champion: champion.task } });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },

    async followServedModel({ model }) {
      if (!deps.followServedModel) throw kindFailure('InvalidInput', `this worker has no Temporal client wired for schedules: the feature refresh schedule of ${model} was not updated`, { model });
      try {
        const state = await deps.followServedModel(model);
        return state && { scheduleId: state.scheduleId, paused: state.paused };
      } catch (err) {
        throw asFailure(err);
      }
    },

    async storeShadowReport({ model, candidate, champion, figures, verdict, reasons }) {
      const at = clock().toISOString();
      const reportKey = rolloutReportKeys.shadow(model, candidate, at);
      const report = { kind: 'sluice.shadow-report', model, candidate, champion, createdAt: at, verdict, reasons, figures };
      await store.put(buckets.reports, reportKey, JSON.stringify(report, null, 2), { contentType: 'application/json' });
      return { reportKey };
    },
  };
}
