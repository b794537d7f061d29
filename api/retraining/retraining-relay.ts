import { requestRetraining } from '../../control/request-retraining.ts';
import { PipelineSpecError, RetrainingRequestError } from '../../domain/retraining/start-retraining.ts';
import type { ArtifactStore } from '../../domain/object-store/artifact-store.ts';
import { ModelNotFoundError } from '../../domain/registry/model-registry.ts';
import type { RetrainRequest } from '../../shared/api/retraining.ts';
import type { Config } from '../../shared/config.ts';
import type { Logger } from '../../shared/logger.ts';
import { ApiError, type ApiWording, kindApiError } from '../errors.ts';
import type { TemporalLink } from '../temporal/temporal-link.ts';

/**
 * A person's retraining request over HTTP: the same `requestRetraining` the CLI's `sluice retrain`
 * calls, so the trigger recorded in the new version's lineage is the same whichever way it came.
 * A model already training gets 409 and nothing is started (at most one retraining per model).
 */
export class RetrainingRelay {
  constructor(
    private readonly temporal: TemporalLink,
    private readonly deps: { config: Config; store: ArtifactStore },
    private readonly log: Logger,
  ) {}

  async request(model: string, requestedBy: string, body: RetrainRequest) {
    let outcome: Awaited<ReturnType<typeof requestRetraining>>;
    try {
      outcome = await this.temporal.run((client) => requestRetraining({ client, ...this.deps }, { model, requestedBy, reason: body.reason, ...(body.spec ? { spec: body.spec } : {}) }));
    } catch (err) {
      if (err instanceof ApiError) throw err;
      const refused = kindApiError(err, wordingFor(err));
      if (refused) throw refused;
      this.log.warn('retraining relay failed', { model, error: (err as Error).message });
      throw new ApiError('TemporalUnavailable', `the retraining could not be started: ${(err as Error).message}`, { retryAfterSeconds: 5, cause: err });
    }
    if (outcome.status === 'already-running') throw new ApiError('RetrainingRefused', outcome.message);
    return outcome;
  }
}

/** This route's words for the errors its caller can fix: the spec's problems one per clause, how to train a model that does not exist yet. */
function wordingFor(err: unknown): ApiWording {
  if (err instanceof RetrainingRequestError || err instanceof PipelineSpecError) return { field: 'spec', message: err.problems.join('; ') };
  if (err instanceof ModelNotFoundError) return { field: 'path.name', message: `${err.message}; send "spec" to train a new model` };
  return {};
}
